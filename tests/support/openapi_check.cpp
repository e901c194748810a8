#include "support/openapi_check.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace libreta::test {

namespace {

using nlohmann::json;

std::vector<std::string> segments(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    out.emplace_back(
        path.substr(start, slash == std::string_view::npos ? path.npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

bool matches(const std::string& pattern, std::string_view path) {
  const auto want = segments(pattern);
  const auto got = segments(path);
  if (want.size() != got.size()) return false;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const bool variable = !want[i].empty() && want[i].front() == '{';
    if (variable ? got[i].empty() : want[i] != got[i]) return false;
  }
  return true;
}

bool digits(std::string_view text, std::size_t from, std::size_t count) {
  if (from + count > text.size()) return false;
  return std::all_of(text.begin() + static_cast<std::ptrdiff_t>(from),
                     text.begin() + static_cast<std::ptrdiff_t>(from + count),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

bool is_date(std::string_view t) {
  return t.size() == 10 && digits(t, 0, 4) && t[4] == '-' && digits(t, 5, 2) && t[7] == '-' &&
         digits(t, 8, 2);
}

bool is_date_time(std::string_view t) {
  return t.size() >= 20 && is_date(t.substr(0, 10)) && t[10] == 'T' && digits(t, 11, 2) &&
         t[13] == ':' && digits(t, 14, 2) && t[16] == ':' && digits(t, 17, 2) && t.back() == 'Z';
}

class Validator {
 public:
  explicit Validator(const json& document) : document_(document) {}

  std::string check(const json& schema, const json& value, const std::string& where) const {
    if (schema.contains("$ref")) {
      const std::string ref = schema["$ref"];
      const std::string prefix = "#/components/schemas/";
      if (ref.rfind(prefix, 0) != 0) return where + ": unsupported $ref " + ref;
      const auto& schemas = document_["components"]["schemas"];
      const std::string name = ref.substr(prefix.size());
      if (!schemas.contains(name)) return where + ": $ref to a missing schema " + name;
      return check(schemas[name], value, where);
    }
    if (value.is_null()) {
      if (schema.value("nullable", false) || !schema.contains("type")) return "";
      return where + ": null where " + schema["type"].get<std::string>() + " is expected";
    }
    if (schema.contains("type")) {
      const std::string type = schema["type"];
      const bool ok =
          (type == "string" && value.is_string()) ||
          (type == "integer" && value.is_number_integer()) ||
          (type == "number" && value.is_number()) || (type == "boolean" && value.is_boolean()) ||
          (type == "object" && value.is_object()) || (type == "array" && value.is_array());
      if (!ok) return where + ": " + value.dump() + " is not of type " + type;
    }
    if (schema.contains("enum")) {
      const auto& choices = schema["enum"];
      if (std::find(choices.begin(), choices.end(), value) == choices.end())
        return where + ": " + value.dump() + " is not one of " + choices.dump();
    }
    if (value.is_string() && schema.contains("format")) {
      const std::string format = schema["format"];
      const std::string text = value;
      if (format == "date" && !is_date(text)) return where + ": '" + text + "' is not a date";
      if (format == "date-time" && !is_date_time(text))
        return where + ": '" + text + "' is not a date-time";
    }
    if (value.is_object()) {
      for (const auto& name : schema.value("required", json::array())) {
        if (!value.contains(name.get<std::string>()))
          return where + ": required '" + name.get<std::string>() + "' is missing";
      }
      const json properties = schema.value("properties", json::object());
      for (const auto& [name, member] : value.items()) {
        if (properties.contains(name)) {
          if (auto why = check(properties[name], member, where + "." + name); !why.empty())
            return why;
        } else if (schema.contains("additionalProperties") &&
                   schema["additionalProperties"] == false) {
          return where + ": '" + name + "' is not a documented property";
        }
      }
    }
    if (value.is_array() && schema.contains("items")) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        if (auto why = check(schema["items"], value[i], where + "[" + std::to_string(i) + "]");
            !why.empty())
          return why;
      }
    }
    return "";
  }

 private:
  const json& document_;
};

}  // namespace

std::string openapi_violation(const json& document, std::string_view method,
                              std::string_view target, int status, std::string_view content_type,
                              std::string_view body) {
  const std::string_view path = target.substr(0, target.find('?'));
  std::string verb(method);
  std::transform(verb.begin(), verb.end(), verb.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const json* operation = nullptr;
  for (const auto& [pattern, item] : document["paths"].items()) {
    if (matches(pattern, path)) {
      // A method the path does not take is answered 405 with its Allow header.
      if (!item.contains(verb)) {
        return status == 405 ? "" : std::string(method) + " " + pattern + " is not documented";
      }
      operation = &item[verb];
      break;
    }
  }
  // A path the document does not name: only a problem answer may come back from it.
  if (!operation) {
    if (status == 404 || status == 401) return "";
    return std::string(path) + " is not documented, yet answered " + std::to_string(status);
  }
  const std::string code = std::to_string(status);
  if (!(*operation)["responses"].contains(code))
    return std::string(method) + " " + std::string(path) + ": status " + code +
           " is not documented";
  const json& response = (*operation)["responses"][code];
  if (!response.contains("content")) {
    return body.empty() ? "" : "status " + code + " is documented without a body";
  }
  const std::string media(content_type.substr(0, content_type.find(';')));
  if (!response["content"].contains(media))
    return "status " + code + " is documented without media type '" + media + "'";
  const json value = json::parse(body, nullptr, false);
  if (value.is_discarded()) return "the body is not JSON";
  return Validator(document).check(response["content"][media]["schema"], value, "body");
}

}  // namespace libreta::test
