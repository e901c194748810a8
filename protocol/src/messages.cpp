#include "libreta/protocol/messages.hpp"

#include <nlohmann/json.hpp>

#include "libreta/protocol/codec.hpp"
#include "libreta/protocol/ids.hpp"
#include "libreta/protocol/value_json.hpp"

namespace libreta {
namespace {

using json = nlohmann::json;

// A conflict's members; protocol 3's only when set, so that older devices read the rest.
json conflict_to_json(const ConflictNotice& c) {
  json j = {{"t", c.table},
            {"r", c.row},
            {"f", c.field},
            {"kept", value_to_json(c.kept)},
            {"kept_ver", c.kept_version.to_string()},
            {"lost", value_to_json(c.lost)},
            {"lost_ver", c.lost_version.to_string()}};
  if (c.id != 0) j["id"] = c.id;
  if (!c.kind.empty()) j["kind"] = c.kind;
  if (!c.kept_user.empty()) j["kept_user"] = c.kept_user;
  if (!c.lost_user.empty()) j["lost_user"] = c.lost_user;
  return j;
}

struct Encoder {
  json operator()(const Hello& m) const {
    return {{"type", "hello"},
            {"protocol", m.protocol},
            {"schema", m.schema},
            {"replica", m.replica},
            {"token", m.token}};
  }
  json operator()(const Welcome& m) const {
    json j = {{"type", "welcome"}, {"protocol", m.protocol}, {"schema", m.schema},
              {"user", m.user},    {"role", m.role},         {"acked", m.acked}};
    if (!m.epoch.empty()) j["epoch"] = m.epoch;
    if (!m.devices.empty()) {
      json devices = json::array();
      for (const auto& d : m.devices) devices.push_back({{"r", d.replica}, {"u", d.user}});
      j["devices"] = std::move(devices);
    }
    return j;
  }
  json operator()(const Push& m) const {
    json changes = json::array();
    for (const auto& pushed : m.changes) {
      json change = change_to_json(pushed.change);
      change["s"] = pushed.seq;
      changes.push_back(std::move(change));
    }
    return {{"type", "push"}, {"changes", std::move(changes)}};
  }
  json operator()(const Ack& m) const {
    json j = {{"type", "ack"}, {"upto", m.upto}};
    if (!m.conflicts.empty()) {
      json conflicts = json::array();
      for (const auto& c : m.conflicts) conflicts.push_back(conflict_to_json(c));
      j["conflicts"] = std::move(conflicts);
    }
    if (!m.refused.empty()) {
      json refused = json::array();
      for (const auto& r : m.refused) {
        json item = {{"s", r.seq},
                     {"t", r.table},
                     {"r", r.row},
                     {"f", r.field},
                     {"code", std::string(error_code_name(r.code))},
                     {"message", r.message}};
        if (!r.element.empty()) item["e"] = r.element;
        if (r.current) item["current"] = row_state_to_json(*r.current);
        refused.push_back(std::move(item));
      }
      j["refused"] = std::move(refused);
    }
    return j;
  }
  json operator()(const Pull& m) const {
    json j = {{"type", "pull"}, {"since", m.since}, {"after", m.after}};
    if (m.count) j["count"] = true;
    return j;
  }
  json operator()(const Rows& m) const {
    json rows = json::array();
    for (const auto& row : m.rows) rows.push_back(row_state_to_json(row));
    json j = {{"type", "rows"},
              {"since", m.since},
              {"after", m.after},
              {"more", m.more},
              {"rows", std::move(rows)}};
    if (m.live) j["live"] = true;
    if (m.remaining > 0) j["remaining"] = m.remaining;
    if (!m.evicted.empty()) {
      json evicted = json::array();
      for (const auto& ref : m.evicted) evicted.push_back({{"t", ref.table}, {"r", ref.id}});
      j["evict"] = std::move(evicted);
    }
    return j;
  }
  json operator()(const ConflictsPull& m) const {
    return {{"type", "conflicts_pull"}, {"after", m.after}};
  }
  json operator()(const Conflicts& m) const {
    json conflicts = json::array();
    for (const auto& c : m.conflicts) conflicts.push_back(conflict_to_json(c));
    json j = {{"type", "conflicts"},
              {"upto", m.upto},
              {"more", m.more},
              {"conflicts", std::move(conflicts)}};
    if (m.live) j["live"] = true;
    return j;
  }
  json operator()(const ProtocolError& m) const {
    return {{"type", "error"},
            {"code", std::string(error_code_name(m.code))},
            {"message", m.message},
            {"fatal", m.fatal}};
  }
};

Result<RowRef> row_ref_from_json(const json& j) {
  if (!j.is_object() || j.size() != 2 || !j.contains("t") || !j.contains("r") ||
      !j["t"].is_string() || !j["r"].is_string()) {
    return Error(ErrorCode::wrong_type, "a row reference is {\"t\": table, \"r\": id}");
  }
  RowRef ref{j["t"].get<std::string>(), j["r"].get<std::string>()};
  if (ref.table.size() > 64 || !is_valid_row_id(ref.id)) {
    return Error(ErrorCode::invalid_value, "not a valid table and row id");
  }
  return ref;
}

// A user's name in a welcome's list of devices is at most this long.
constexpr std::size_t kMaxDeviceUserBytes = 256;

Result<DeviceUser> device_user_from_json(const json& j) {
  if (!j.is_object() || j.size() != 2 || !j.contains("r") || !j.contains("u") ||
      !j["r"].is_string() || !j["u"].is_string()) {
    return Error(ErrorCode::wrong_type, "a device is {\"r\": replica, \"u\": user}");
  }
  DeviceUser device{j["r"].get<std::string>(), j["u"].get<std::string>()};
  if (!is_valid_replica_id(device.replica) || device.user.size() > kMaxDeviceUserBytes) {
    return Error(ErrorCode::invalid_value, "not a valid replica id and user");
  }
  return device;
}

// Reads members of one message, remembering the first problem.
class Reader {
 public:
  Reader(const json& j, std::string_view type, std::initializer_list<std::string_view> allowed)
      : j_(j), type_(type) {
    for (const auto& [key, value] : j.items()) {
      bool known = key == "type";
      for (auto name : allowed) known = known || key == name;
      if (!known) fail(ErrorCode::unknown_field, "unknown member \"" + key + "\"");
    }
  }
  const json* member(const char* key, bool required = true) {
    auto it = j_.find(key);
    if (it == j_.end()) {
      if (required) fail(ErrorCode::missing_field, std::string("missing \"") + key + "\"");
      return nullptr;
    }
    return &*it;
  }
  std::string text(const char* key, std::size_t max = 4096) {
    const json* m = member(key);
    if (!m) return {};
    if (!m->is_string())
      return fail(ErrorCode::wrong_type, std::string("\"") + key + "\" must be text"), "";
    if (m->get_ref<const std::string&>().size() > max) {
      return fail(ErrorCode::too_large, std::string("\"") + key + "\" is too long"), "";
    }
    return m->get<std::string>();
  }
  std::uint64_t sequence(const char* key, bool required = true) {
    const json* m = member(key, required);
    if (!m) return 0;
    if (!m->is_number_unsigned() && !(m->is_number_integer() && m->get<std::int64_t>() >= 0)) {
      fail(ErrorCode::wrong_type, std::string("\"") + key + "\" must be a whole number >= 0");
      return 0;
    }
    const auto value = m->get<std::uint64_t>();
    if (value > kMaxWireSequence)
      fail(ErrorCode::invalid_value, std::string("\"") + key + "\" is too large");
    return value;
  }
  int integer(const char* key) {
    const json* m = member(key);
    if (!m) return 0;
    if (!m->is_number_integer() || m->get<std::int64_t>() < 0 ||
        m->get<std::int64_t>() > 1'000'000) {
      fail(ErrorCode::wrong_type, std::string("\"") + key + "\" must be a small whole number");
      return 0;
    }
    return m->get<int>();
  }
  bool boolean(const char* key, bool required = true) {
    const json* m = member(key, required);
    if (!m) return false;
    if (!m->is_boolean())
      return fail(ErrorCode::wrong_type, std::string("\"") + key + "\" must be true or false"),
             false;
    return m->get<bool>();
  }
  const json* array(const char* key, bool required = true) {
    const json* m = member(key, required);
    if (m && !m->is_array()) {
      fail(ErrorCode::wrong_type, std::string("\"") + key + "\" must be an array");
      return nullptr;
    }
    return m;
  }
  void fail(ErrorCode code, const std::string& why) {
    if (!error_) error_ = Error(code, std::string(type_) + ": " + why);
  }
  const std::optional<Error>& error() const { return error_; }

 private:
  const json& j_;
  std::string_view type_;
  std::optional<Error> error_;
};

template <class T>
Result<Message> finish(Reader& reader, T message) {
  if (reader.error()) return *reader.error();
  return Message(std::move(message));
}

// A list of conflicts (an ack's or a conflicts message's) into `out`; problems go to `r`.
void read_conflicts(Reader& r, const json& list, std::vector<ConflictNotice>& out) {
  for (const auto& c : list) {
    if (!c.is_object()) {
      r.fail(ErrorCode::wrong_type, "a conflict must be an object");
      return;
    }
    Reader cr(c, "conflict",
              {"t", "r", "f", "kept", "kept_ver", "lost", "lost_ver", "id", "kind", "kept_user",
               "lost_user"});
    ConflictNotice notice;
    notice.table = cr.text("t");
    notice.row = cr.text("r");
    notice.field = cr.text("f");
    const auto kept_version = Version::parse(cr.text("kept_ver"));
    const auto lost_version = Version::parse(cr.text("lost_ver"));
    auto kept = cr.member("kept") ? value_from_json(c["kept"]) : Result<Value>(Value());
    auto lost = cr.member("lost") ? value_from_json(c["lost"]) : Result<Value>(Value());
    notice.id = cr.sequence("id", false);
    if (cr.member("kind", false)) notice.kind = cr.text("kind", 64);
    if (cr.member("kept_user", false)) notice.kept_user = cr.text("kept_user", 256);
    if (cr.member("lost_user", false)) notice.lost_user = cr.text("lost_user", 256);
    if (cr.error()) {
      r.fail(cr.error()->code(), cr.error()->what());
      return;
    }
    if (!kept_version || !lost_version || !kept || !lost) {
      r.fail(ErrorCode::invalid_value, "a conflict has a bad value or version");
      return;
    }
    notice.kept = std::move(kept).value();
    notice.lost = std::move(lost).value();
    notice.kept_version = *kept_version;
    notice.lost_version = *lost_version;
    out.push_back(std::move(notice));
  }
}

// A push's changes, each with its sequence "s" (above the previous one), into `out`.
void read_push_changes(Reader& r, const json& list, std::vector<PushedChange>& out) {
  if (list.size() > kMaxChangesPerBatch) {
    r.fail(ErrorCode::too_large, "more than " + std::to_string(kMaxChangesPerBatch) + " changes");
    return;
  }
  out.reserve(list.size());
  std::uint64_t previous = 0;
  for (std::size_t i = 0; i < list.size() && !r.error(); ++i) {
    json item = list[i];
    if (!item.is_object() || !item.contains("s")) {
      r.fail(ErrorCode::missing_field, "change " + std::to_string(i) + " has no \"s\"");
      return;
    }
    const json& s = item["s"];
    if (!s.is_number_unsigned() || s.get<std::uint64_t>() == 0 ||
        s.get<std::uint64_t>() > kMaxWireSequence || s.get<std::uint64_t>() <= previous) {
      r.fail(ErrorCode::invalid_value, "change " + std::to_string(i) +
                                           ": \"s\" must be a whole number above the previous one");
      return;
    }
    previous = s.get<std::uint64_t>();
    item.erase("s");
    auto change = change_from_json(item);
    if (!change) {
      r.fail(change.error().code(), "change " + std::to_string(i) + ": " + change.error().what());
      return;
    }
    out.push_back({previous, std::move(change).value()});
  }
}

// An ack's refusals into `out`.
void read_refusals(Reader& r, const json& list, std::vector<RefusedChange>& out) {
  for (const auto& item : list) {
    if (!item.is_object()) {
      r.fail(ErrorCode::wrong_type, "a refusal must be an object");
      return;
    }
    Reader rr(item, "refused", {"s", "t", "r", "f", "e", "code", "message", "current"});
    RefusedChange change;
    change.seq = rr.sequence("s");
    change.table = rr.text("t");
    change.row = rr.text("r");
    change.field = rr.text("f");
    if (rr.member("e", false)) change.element = rr.text("e");
    change.code = error_code_from_name(rr.text("code"));
    change.message = rr.text("message");
    if (rr.error()) {
      r.fail(rr.error()->code(), rr.error()->what());
      return;
    }
    if (auto current = item.find("current"); current != item.end()) {
      auto state = row_state_from_json(*current);
      if (!state) {
        r.fail(state.error().code(), std::string("refused: ") + state.error().what());
        return;
      }
      change.current = std::move(state).value();
    }
    out.push_back(std::move(change));
  }
}

// Each item of `list` through `parse` into `out`; the first that fails is reported as
// "<what> <index>: <why>".
template <typename T, typename Parse>
void read_each(Reader& r, const json& list, const char* what, Parse parse, std::vector<T>& out) {
  out.reserve(list.size());
  for (std::size_t i = 0; i < list.size() && !r.error(); ++i) {
    auto item = parse(list[i]);
    if (!item) {
      r.fail(item.error().code(),
             std::string(what) + " " + std::to_string(i) + ": " + item.error().what());
      return;
    }
    out.push_back(std::move(item).value());
  }
}

Result<Message> decode(const json& j, const std::string& type) {
  if (type == "hello") {
    Reader r(j, type, {"protocol", "schema", "replica", "token"});
    Hello m;
    m.protocol = r.integer("protocol");
    m.schema = r.integer("schema");
    m.replica = r.text("replica", 64);
    m.token = r.text("token", 512);
    if (!r.error() && !is_valid_replica_id(m.replica)) {
      r.fail(ErrorCode::invalid_value, "\"replica\" is not a valid replica id");
    }
    return finish(r, std::move(m));
  }
  if (type == "welcome") {
    Reader r(j, type, {"protocol", "schema", "user", "role", "acked", "epoch", "devices"});
    Welcome m;
    m.protocol = r.integer("protocol");
    m.schema = r.integer("schema");
    m.user = r.text("user");
    m.role = r.text("role");
    m.acked = r.sequence("acked");
    if (j.contains("epoch")) m.epoch = r.text("epoch", 64);
    if (const json* devices = r.array("devices", false)) {
      read_each(r, *devices, "device", device_user_from_json, m.devices);
    }
    return finish(r, std::move(m));
  }
  if (type == "push") {
    Reader r(j, type, {"changes"});
    Push m;
    if (const json* changes = r.array("changes")) read_push_changes(r, *changes, m.changes);
    return finish(r, std::move(m));
  }
  if (type == "ack") {
    Reader r(j, type, {"upto", "conflicts", "refused"});
    Ack m;
    m.upto = r.sequence("upto");
    if (const json* conflicts = r.array("conflicts", false)) {
      read_conflicts(r, *conflicts, m.conflicts);
    }
    if (const json* refused = r.array("refused", false)) read_refusals(r, *refused, m.refused);
    return finish(r, std::move(m));
  }
  if (type == "pull") {
    Reader r(j, type, {"since", "after", "count"});
    Pull m;
    m.since = r.sequence("since");
    m.after = r.sequence("after");
    m.count = r.boolean("count", false);
    if (!r.error() && m.after < m.since)
      r.fail(ErrorCode::invalid_value, "\"after\" is below \"since\"");
    return finish(r, std::move(m));
  }
  if (type == "rows") {
    Reader r(j, type, {"since", "after", "more", "live", "remaining", "rows", "evict"});
    Rows m;
    m.since = r.sequence("since");
    m.after = r.sequence("after");
    m.more = r.boolean("more");
    m.live = r.boolean("live", false);
    if (j.contains("remaining")) m.remaining = r.sequence("remaining");
    if (const json* rows = r.array("rows")) read_each(r, *rows, "row", row_state_from_json, m.rows);
    if (const json* evicted = r.array("evict", false)) {
      read_each(r, *evicted, "evict", row_ref_from_json, m.evicted);
    }
    return finish(r, std::move(m));
  }
  if (type == "conflicts_pull") {
    Reader r(j, type, {"after"});
    ConflictsPull m;
    m.after = r.sequence("after");
    return finish(r, std::move(m));
  }
  if (type == "conflicts") {
    Reader r(j, type, {"upto", "more", "live", "conflicts"});
    Conflicts m;
    m.upto = r.sequence("upto");
    m.more = r.boolean("more");
    m.live = r.boolean("live", false);
    if (const json* conflicts = r.array("conflicts")) read_conflicts(r, *conflicts, m.conflicts);
    return finish(r, std::move(m));
  }
  if (type == "error") {
    Reader r(j, type, {"code", "message", "fatal"});
    ProtocolError m;
    m.code = error_code_from_name(r.text("code"));
    m.message = r.text("message");
    m.fatal = r.boolean("fatal");
    return finish(r, std::move(m));
  }
  return Error(ErrorCode::unknown_message, "unknown message type \"" + type.substr(0, 64) + "\"");
}

}  // namespace

std::string encode_message(const Message& message) {
  return std::visit(Encoder{}, message).dump();
}

std::string encode_rows_message(const Rows& rows, std::span<const std::string* const> encoded) {
  // The message without its rows, then the rows spliced into its empty "rows" array. Keys
  // are JSON-escaped, so `"rows":[]` can only be the member itself; it comes after "evict",
  // the only member holding texts, hence rfind.
  Rows header;
  header.since = rows.since;
  header.after = rows.after;
  header.more = rows.more;
  header.live = rows.live;
  header.remaining = rows.remaining;
  header.evicted = rows.evicted;
  std::string shell = Encoder{}(header).dump();
  constexpr std::string_view kEmptyRows = "\"rows\":[]";
  const std::size_t at = shell.rfind(kEmptyRows);
  std::size_t size = shell.size() + encoded.size();
  for (const std::string* row : encoded) size += row->size();
  std::string text;
  text.reserve(size);
  const std::size_t inside = at + kEmptyRows.size() - 1;  // just before ']'
  text.append(shell, 0, inside);
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (i > 0) text.push_back(',');
    text.append(*encoded[i]);
  }
  text.append(shell, inside, std::string::npos);
  return text;
}

Result<Message> decode_message(std::string_view text, const JsonLimits& limits) {
  // The tree nlohmann builds costs tens of bytes per value: the text's shape is checked
  // first, so that a small text cannot make it large.
  if (auto checked = check_json_limits(text, limits); !checked) {
    return Error(checked.error().code(),
                 "the message is refused: " + std::string(checked.error().what()));
  }
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error(ErrorCode::malformed, "the message is not valid JSON");
  if (!j.is_object()) return Error(ErrorCode::wrong_type, "a message must be a JSON object");
  auto type = j.find("type");
  if (type == j.end()) return Error(ErrorCode::missing_field, "the message has no \"type\"");
  if (!type->is_string()) return Error(ErrorCode::wrong_type, "\"type\" must be text");
  return decode(j, type->get<std::string>());
}

std::string_view message_type(const Message& message) {
  static constexpr std::string_view kNames[] = {
      "hello", "welcome", "push", "ack", "pull", "rows", "error", "conflicts_pull", "conflicts"};
  return kNames[message.index()];
}

}  // namespace libreta
