// The sync session's events on their way to the app's listeners: translated to the C API's
// forms, then called at once on the session's thread or queued for libreta_deliver_events(),
// as the replica's delivery mode says. Thread-safe functions.
#pragma once

#include "libreta/client/sync_types.hpp"
#include "replica_handle.hpp"

namespace libreta::capi {

// SyncOptions::on_event of the handle's sessions.
void on_sync_event(libreta_replica& handle, const client::SyncEvent& event);

}  // namespace libreta::capi
