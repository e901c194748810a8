// The book's people as vCards for a phone's address book: every contact (representative),
// every customer who is a person, and every company with a phone or email. vCard 3.0 (RFC
// 2426), the version every phone imports; UTF-8, CRLF, escaped and folded at 75 octets.
// Runs on the thread that owns the replica.
#pragma once

#include <string>

#include "libreta/client/replica.hpp"
#include "messages.hpp"

namespace libreta::cli {

struct VcardStats {
  std::size_t cards = 0;
};

std::string export_vcards(const client::Replica& replica, Lang lang, VcardStats* stats = nullptr);

// The vCard of one contact of `customer`, and of a customer itself.
std::string contact_vcard(const Contact& contact, const Customer& customer);
std::string customer_vcard(const Customer& customer);

}  // namespace libreta::cli
