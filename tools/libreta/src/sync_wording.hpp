// How sync outcomes are worded for the seller, shared by the command line and the app.
#pragma once

#include "libreta/protocol/messages.hpp"
#include "messages.hpp"

namespace libreta::cli {

// Why the server refused a change, as a message of the catalog.
Msg refusal_reason(const RefusedChange& refused);
// What a sync error means for the seller, as a message of the catalog.
Msg sync_error_reason(ErrorCode code);

}  // namespace libreta::cli
