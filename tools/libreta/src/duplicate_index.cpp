#include "duplicate_index.hpp"

#include <algorithm>

#include "libreta/protocol/text.hpp"

namespace libreta::cli {
namespace {

// A phone is compared by its last nine digits (a Spanish number without the +34 prefix).
constexpr std::size_t kPhoneDigits = 9;
// Fewer digits than this is not a phone worth matching on (an extension, a typo).
constexpr std::size_t kMinPhoneDigits = 6;

// Legal-form suffixes that do not tell two customers apart: "López S.L." is "López SL".
constexpr const char* kLegalForms[] = {"sl", "sa",    "slu", "sll", "slne", "scp",  "cb",
                                       "sc", "scoop", "ltd", "inc", "llc",  "gmbh", "sau"};

std::string text_of(const Record& fields, const char* name) {
  auto it = fields.find(name);
  return it != fields.end() && it->second.is_text() ? it->second.as_text() : std::string{};
}

std::vector<std::string> alnum_tokens(std::string_view folded) {
  std::vector<std::string> tokens;
  std::string current;
  for (char c : folded) {
    const bool keep =
        (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (static_cast<unsigned char>(c) & 0x80);
    if (keep) {
      current += c;
    } else if (!current.empty()) {
      tokens.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

}  // namespace

std::string DuplicateIndex::tax_key(std::string_view tax_id) {
  std::string key = normalize_tax_id(tax_id);
  // A Spanish VAT number is the NIF with "ES" in front.
  if (key.size() == 11 && key.substr(0, 2) == "ES") key.erase(0, 2);
  return key;
}

std::string DuplicateIndex::phone_key(std::string_view phone) {
  std::string digits = digits_only(phone);
  if (digits.size() < kMinPhoneDigits) return {};
  if (digits.size() > kPhoneDigits) digits.erase(0, digits.size() - kPhoneDigits);
  return digits;
}

std::string DuplicateIndex::email_key(std::string_view email) {
  std::string key;
  for (char c : email) {
    if (c == ' ' || c == '\t') continue;
    key += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return key;
}

std::string DuplicateIndex::name_key(std::string_view name) {
  std::vector<std::string> tokens = alnum_tokens(fold_text(name));
  // "s l", "s a", "s l u": a legal form written with dots and spaces.
  std::string tail;
  std::size_t letters = 0;
  for (auto it = tokens.rbegin(); it != tokens.rend() && it->size() == 1 && letters < 3; ++it) {
    tail.insert(0, *it);
    ++letters;
  }
  const auto is_form = [](const std::string& t) {
    return std::find(std::begin(kLegalForms), std::end(kLegalForms), t) != std::end(kLegalForms);
  };
  if (letters >= 2 && is_form(tail) && tokens.size() > letters) {
    tokens.resize(tokens.size() - letters);
  } else if (tokens.size() > 1 && is_form(tokens.back())) {
    tokens.pop_back();
  }
  std::string key;
  for (const auto& t : tokens) key += t;
  if (key.empty()) {
    // A name of punctuation only ("-", "¿?"): no letters to compare, but the same text is
    // still the same customer (an import run twice must not add it twice).
    for (const char c : fold_text(name)) {
      if (c != ' ' && c != '\t') key += c;
    }
  }
  return key;
}

void DuplicateIndex::add(const std::string& id, const Record& fields) {
  Identity identity{tax_key(text_of(fields, "tax_id")), name_key(text_of(fields, "city"))};
  if (!identity.tax.empty()) by_tax_.emplace(identity.tax, id);
  if (const auto email = email_key(text_of(fields, "email")); !email.empty()) {
    by_email_.emplace(email, id);
  }
  for (const char* field : {"phone", "mobile"}) {
    if (const auto phone = phone_key(text_of(fields, field)); !phone.empty()) {
      by_phone_.emplace(phone, id);
    }
  }
  if (const auto name = name_key(text_of(fields, "name")); !name.empty()) {
    auto& ids = by_name_[name];
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  identity_[id] = std::move(identity);
}

bool DuplicateIndex::vetoed(const std::string& id, const Record& fields, bool by_name) const {
  auto it = identity_.find(id);
  if (it == identity_.end()) return false;
  const std::string tax = tax_key(text_of(fields, "tax_id"));
  if (!tax.empty() && !it->second.tax.empty() && tax != it->second.tax) return true;
  if (by_name) {
    const std::string city = name_key(text_of(fields, "city"));
    if (!city.empty() && !it->second.city.empty() && city != it->second.city) return true;
  }
  return false;
}

std::optional<DuplicateMatch> DuplicateIndex::find(const Record& fields) const {
  if (const auto tax = tax_key(text_of(fields, "tax_id")); !tax.empty()) {
    if (auto it = by_tax_.find(tax); it != by_tax_.end())
      return DuplicateMatch{it->second, "tax_id"};
  }
  if (const auto email = email_key(text_of(fields, "email")); !email.empty()) {
    if (auto it = by_email_.find(email);
        it != by_email_.end() && !vetoed(it->second, fields, false)) {
      return DuplicateMatch{it->second, "email"};
    }
  }
  for (const char* field : {"phone", "mobile"}) {
    if (const auto phone = phone_key(text_of(fields, field)); !phone.empty()) {
      if (auto it = by_phone_.find(phone);
          it != by_phone_.end() && !vetoed(it->second, fields, false)) {
        return DuplicateMatch{it->second, "phone"};
      }
    }
  }
  if (const auto name = name_key(text_of(fields, "name")); !name.empty()) {
    if (auto it = by_name_.find(name); it != by_name_.end()) {
      for (const auto& id : it->second) {
        if (!vetoed(id, fields, true)) return DuplicateMatch{id, "name"};
      }
    }
  }
  return std::nullopt;
}

}  // namespace libreta::cli
