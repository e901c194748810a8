// A field value of the customer book: null, boolean, integer, number, text or tag set.
// Values are plain data, copyable, usable from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace libreta {

using TagSet = std::vector<std::string>;  // sorted, without duplicates

class Value {
 public:
  enum class Type { null, boolean, integer, number, text, tags };

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : data_(b) {}
  Value(int i) : data_(std::int64_t{i}) {}
  Value(std::int64_t i) : data_(i) {}
  Value(double d) : data_(d) {}
  Value(const char* s) : data_(std::string(s)) {}
  Value(std::string s) : data_(std::move(s)) {}
  Value(TagSet tags) : data_(std::move(tags)) {}

  Type type() const { return static_cast<Type>(data_.index()); }
  bool is_null() const { return type() == Type::null; }
  bool is_bool() const { return type() == Type::boolean; }
  bool is_integer() const { return type() == Type::integer; }
  bool is_number() const { return type() == Type::number || type() == Type::integer; }
  bool is_text() const { return type() == Type::text; }
  bool is_tags() const { return type() == Type::tags; }

  bool as_bool() const { return std::get<bool>(data_); }
  std::int64_t as_integer() const { return std::get<std::int64_t>(data_); }
  // Integers are accepted where a number is expected.
  double as_number() const {
    return is_integer() ? static_cast<double>(as_integer()) : std::get<double>(data_);
  }
  const std::string& as_text() const { return std::get<std::string>(data_); }
  const TagSet& as_tags() const { return std::get<TagSet>(data_); }

  friend bool operator==(const Value&, const Value&) = default;

 private:
  std::variant<std::monostate, bool, std::int64_t, double, std::string, TagSet> data_;
};

// A row's fields by name (only the fields present).
using Record = std::map<std::string, Value, std::less<>>;

const char* value_type_name(Value::Type type);

}  // namespace libreta
