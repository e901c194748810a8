#include "vcard_writer.hpp"

#include <vector>

#include "content_line.hpp"

namespace libreta::cli {
namespace {

// "Ana María López García" -> family "López García", given "Ana María"? Names do not say
// where the given name ends; the first word as the given name is right for most.
struct NameParts {
  std::string family, given;
};

NameParts split_name(std::string_view name) {
  std::vector<std::string> words;
  std::string current;
  for (char c : name) {
    if (c == ' ') {
      if (!current.empty()) words.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) words.push_back(std::move(current));
  NameParts parts;
  if (words.empty()) return parts;
  parts.given = words.front();
  for (std::size_t i = 1; i < words.size(); ++i) {
    parts.family += (parts.family.empty() ? "" : " ") + words[i];
  }
  return parts;
}

class Card {
 public:
  explicit Card(std::string_view uid) {
    text_ += content_line("BEGIN:VCARD");
    text_ += content_line("VERSION:3.0");
    text_ += content_line("UID:urn:uuid:" + escape_text(uid));
  }
  void text(std::string_view name, std::string_view value) {
    if (!value.empty()) text_ += content_line(std::string(name) + ":" + escape_text(value));
  }
  void raw(std::string_view line) { text_ += content_line(line); }
  std::string finish() {
    text_ += content_line("END:VCARD");
    return std::move(text_);
  }

 private:
  std::string text_;
};

const std::string& or_empty(const OptText& text) {
  static const std::string kEmpty;
  return text ? *text : kEmpty;
}

std::string categories(const TagSet& tags) {
  std::string out = "libreta";
  for (const auto& tag : tags) out += "," + escape_text(tag);
  return out;
}

}  // namespace

std::string contact_vcard(const Contact& contact, const Customer& customer) {
  Card card(contact.id);
  const NameParts name = split_name(contact.name);
  card.text("FN", contact.name);
  card.raw("N:" + escape_text(name.family) + ";" + escape_text(name.given) + ";;;");
  card.text("ORG", customer.name);
  card.text("TITLE", or_empty(contact.role));
  if (contact.mobile) card.raw("TEL;TYPE=CELL:" + escape_text(*contact.mobile));
  if (contact.phone) card.raw("TEL;TYPE=WORK,VOICE:" + escape_text(*contact.phone));
  if (contact.email) card.raw("EMAIL;TYPE=INTERNET:" + escape_text(*contact.email));
  if (contact.birthday) card.raw("BDAY;VALUE=DATE:" + *contact.birthday);
  if (contact.address) card.raw("ADR;TYPE=WORK:;;" + escape_text(*contact.address) + ";;;;");
  std::string note = or_empty(contact.personal_notes);
  if (contact.social) note += (note.empty() ? "" : "\n") + *contact.social;
  card.text("NOTE", note);
  card.raw("CATEGORIES:" + categories(contact.tags));
  return card.finish();
}

std::string customer_vcard(const Customer& customer) {
  Card card(customer.id);
  if (customer.kind == "person") {
    const NameParts name = split_name(customer.name);
    card.text("FN", customer.name);
    card.raw("N:" + escape_text(name.family) + ";" + escape_text(name.given) + ";;;");
    card.text("ORG", or_empty(customer.trade_name));
  } else {
    const std::string& shown = customer.trade_name ? *customer.trade_name : customer.name;
    card.text("FN", shown);
    card.raw("N:;;;;");  // required in 3.0; a company has no personal name
    card.text("ORG", customer.name);
    card.raw("X-ABSHOWAS:COMPANY");  // Apple's address book shows it as a company
  }
  if (customer.mobile) card.raw("TEL;TYPE=CELL:" + escape_text(*customer.mobile));
  if (customer.phone) card.raw("TEL;TYPE=WORK,VOICE:" + escape_text(*customer.phone));
  if (customer.email) card.raw("EMAIL;TYPE=INTERNET:" + escape_text(*customer.email));
  if (customer.birthday && customer.kind == "person") {
    card.raw("BDAY;VALUE=DATE:" + *customer.birthday);
  }
  if (customer.billing_address || customer.city || customer.region || customer.postal_code ||
      customer.country) {
    card.raw("ADR;TYPE=WORK:;;" + escape_text(or_empty(customer.billing_address)) + ";" +
             escape_text(or_empty(customer.city)) + ";" + escape_text(or_empty(customer.region)) +
             ";" + escape_text(or_empty(customer.postal_code)) + ";" +
             escape_text(or_empty(customer.country)));
  }
  if (customer.website) card.raw("URL:" + *customer.website);  // a URI, not TEXT
  card.text("NOTE", or_empty(customer.notes));
  card.raw("CATEGORIES:" + categories(customer.tags));
  return card.finish();
}

std::string export_vcards(const client::Replica& replica, Lang, VcardStats* stats) {
  std::string out;
  std::size_t cards = 0;
  client::CustomerFilter everyone;
  everyone.limit = SIZE_MAX;
  for (const auto& customer : replica.list_customers(everyone)) {
    const bool reachable = customer.phone || customer.mobile || customer.email;
    if (customer.kind == "person" || reachable) {
      out += customer_vcard(customer);
      ++cards;
    }
    for (const auto& contact : replica.contacts_of(customer.id)) {
      out += contact_vcard(contact, customer);
      ++cards;
    }
  }
  if (stats) stats->cards = cards;
  return out;
}

}  // namespace libreta::cli
