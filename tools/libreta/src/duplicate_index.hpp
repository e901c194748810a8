// Finding the customer a new row repeats: by normalized tax id, email, phone digits, or
// folded name (in the same city). A name, email or phone match is not taken when both sides
// have different tax ids: two companies may share a name or a switchboard. Not thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "libreta/protocol/value.hpp"

namespace libreta::cli {

struct DuplicateMatch {
  std::string id;
  std::string key;  // "tax_id", "email", "phone" or "name"
};

class DuplicateIndex {
 public:
  // Adds (or re-adds after a change) a customer's identifying fields.
  void add(const std::string& id, const Record& fields);
  std::optional<DuplicateMatch> find(const Record& fields) const;

  // The normalized keys, exposed for tests.
  static std::string tax_key(std::string_view tax_id);
  static std::string phone_key(std::string_view phone);
  static std::string email_key(std::string_view email);
  static std::string name_key(std::string_view name);

 private:
  struct Identity {
    std::string tax, city;
  };
  bool vetoed(const std::string& id, const Record& fields, bool by_name) const;

  std::unordered_map<std::string, std::string> by_tax_, by_email_, by_phone_;
  std::unordered_map<std::string, std::vector<std::string>> by_name_;
  std::unordered_map<std::string, Identity> identity_;
};

}  // namespace libreta::cli
