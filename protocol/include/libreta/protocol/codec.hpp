// The JSON codec for change records. Decoding takes untrusted text and returns a Result with
// a clear error rather than throwing; encoding is deterministic (same change, same bytes).
// Stateless functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "libreta/protocol/change.hpp"
#include "libreta/protocol/error.hpp"
#include "libreta/protocol/json_limits.hpp"
#include "libreta/protocol/schema.hpp"

namespace libreta {

// Largest encoded batch of changes a decoder accepts, and most changes in one batch.
inline constexpr std::size_t kMaxChangesTextBytes = 16u << 20;
inline constexpr std::size_t kMaxChangesPerBatch = 100'000;
// The text's shape, checked before it is parsed (json_limits.hpp): a batch nests 3 deep (the
// array, a change, a tag list) and a change holds fewer than ten values.
inline constexpr JsonLimits kChangesJsonLimits{.max_bytes = kMaxChangesTextBytes,
                                               .max_depth = 8,
                                               .max_values = kMaxChangesPerBatch * 10,
                                               .max_string_bytes = 256u << 10};

// {"t":table,"r":row,"f":field,["e":element,]"v":value,"ver":version[,"base":version]}
// Versions travel as text: 64-bit integers are not safe in JSON.
nlohmann::json change_to_json(const Change& change);
Result<Change> change_from_json(const nlohmann::json& json);

// A JSON array of changes.
std::string encode_changes(const std::vector<Change>& changes);
Result<std::vector<Change>> decode_changes(std::string_view text);

// Checks a decoded change against the schema: known table, valid value for its field kind,
// element only on tag sets. Fields the schema does not know are accepted untouched (a newer
// peer's fields are preserved, not dropped). Canonicalizes the value in place.
Status validate_change(const Schema& schema, Change& change);
// The same checks, returning the canonical value instead of changing the change: for the
// merge loops, which should not copy every change to canonicalize it.
Result<Value> validated_value(const Schema& schema, const Change& change);

}  // namespace libreta
