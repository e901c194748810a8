// Finding the customer a command names: an id, or a search text that matches exactly one
// customer (or one whose name is exactly that text). Used on the main thread.
#pragma once

#include <string_view>

#include "context.hpp"

namespace libreta::cli {

// The customer, or a CliError (validation): not found, or ambiguous with the candidates.
Customer find_customer(Context& ctx, std::string_view id_or_text);

}  // namespace libreta::cli
