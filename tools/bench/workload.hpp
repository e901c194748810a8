// The customer-book benchmark workload of /work/shared/bench/WORKLOAD.md: deterministic
// customers (22 fields of Spanish data), single-field edits, and the remote changes a server
// would send for a customer. Pure functions of (index, seed): one PRNG stream per record, so
// the first N records of a larger set equal the smaller set; no wall clock. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "libreta/protocol/change.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/value.hpp"
#include "libreta/protocol/version.hpp"

namespace libreta::workload {

// The seed every published figure uses. Change it only to look at variance.
inline constexpr std::uint64_t kDefaultSeed = 0x6c69627265746131ULL;  // "libreta1"

// The physical time of the first server version: customer i gets millis kServerEpochMillis + i.
inline constexpr std::uint64_t kServerEpochMillis = 1'700'000'000'000;
inline constexpr const char* kServerReplicaId = "server";

// The splitmix64 finalizer: a bijective mix of 64 bits.
inline std::uint64_t mix64(std::uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A small, fast PRNG (splitmix64): good enough statistically for workload data, and
// trivially seeded per record.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() { return mix64(state_ += 0x9e3779b97f4a7c15ULL); }
  // Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, n); n > 0.
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(unit() * double(n)); }
  // Uniform in [lo, hi].
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(below(static_cast<std::size_t>(hi - lo + 1)));
  }
  // True with probability percent / 100.
  bool percent(int percent) { return below(100) < static_cast<std::size_t>(percent); }

 private:
  std::uint64_t state_;
};

// The stream of customer `index` (and of edit `index`, on a separate salt).
Rng customer_rng(std::uint64_t index, std::uint64_t seed = kDefaultSeed);
Rng edit_rng(std::uint64_t index, std::uint64_t seed = kDefaultSeed);

// Customer `index` of the workload. The same (index, seed) gives the same customer.
Customer make_customer(std::uint64_t index, std::uint64_t seed = kDefaultSeed);
// Customers [0, n).
std::vector<Customer> make_customers(std::size_t n, std::uint64_t seed = kDefaultSeed);
// Only the id of customer `index` (the first draws of its stream): cheap.
std::string customer_id(std::uint64_t index, std::uint64_t seed = kDefaultSeed);

// One single-field edit: set `field` of customer `customer` to `value`.
struct Edit {
  std::size_t customer = 0;  // index into the workload's customers
  std::string customer_id;
  std::string field;
  Value value;  // a tag set for "tags" (the whole new set)
};

// M edits over customers [0, n_customers): customer uniform, field by kEditFieldWeights,
// a fresh value from the creation distribution. Edit j depends only on (j, n, seed).
std::vector<Edit> make_edits(std::size_t n_customers, std::size_t m,
                             std::uint64_t seed = kDefaultSeed);
// Edit `j` of the stream on a customer the caller chose (a device that edits only its own
// customers, as a seller does): the field and fresh value drawn as make_edits draws them.
Edit make_edit(std::uint64_t j, std::size_t customer, std::uint64_t seed = kDefaultSeed);

// The version a server gives every field of customer `index`:
// (Hlc::from_parts(kServerEpochMillis + index, 0), "server").
Version server_version(std::uint64_t index);

// What a server sends for a customer it holds: one Change per set field, and one Change per
// tag of the tag set (element = tag, value = true). All at server_version(index), no base.
// Appends to `out`, returns how many it appended.
std::size_t append_customer_changes(const Customer& customer, std::uint64_t index,
                                    std::vector<Change>& out);
std::vector<Change> customer_changes(const Customer& customer, std::uint64_t index);

// The customer as one compact JSON object of its 22 workload fields (tags as an array,
// annual_revenue as a number), as WORKLOAD.md sizes it; and that text's size in bytes.
std::string compact_json(const Customer& customer);
std::size_t compact_json_size(const Customer& customer);

// The 22 fields of WORKLOAD.md, id first, in the order compact_json() writes them.
// clang-format off
inline constexpr const char* kWorkloadFields[] = {
    "id", "kind", "name", "tax_id", "email", "phone", "mobile", "billing_address",
    "shipping_address", "city", "region", "country", "status", "segment", "owner",
    "annual_revenue", "purchase_potential", "socioeconomic_level", "tags", "notes",
    "created_at", "updated_at"};
// clang-format on

}  // namespace libreta::workload
