// The sync session of a replica: start, stop, status.
#include "boundary.hpp"
#include "events.hpp"
#include "json_out.hpp"
#include "libreta/client/sqlite_sync_replica.hpp"
#include "replica_handle.hpp"

using namespace libreta;
using namespace libreta::capi;

namespace libreta::capi {

std::shared_ptr<client::SyncSession> session_of(libreta_replica& handle) {
  std::lock_guard lock(handle.sync_mutex);
  return handle.session;
}

void nudge_session(libreta_replica& handle) {
  if (auto session = session_of(handle)) session->nudge();
}

void stop_session(libreta_replica& handle) {
  // From the session's own thread, stopping would wait for itself.
  if (handle.delivery == LIBRETA_DELIVER_ON_SYNC_THREAD && in_callback_of(handle)) {
    throw Error(ErrorCode::out_of_order,
                "a replica's sync cannot be stopped from inside one of its callbacks");
  }
  std::shared_ptr<client::SyncSession> session;
  {
    std::lock_guard lock(handle.sync_mutex);
    session = std::move(handle.session);
  }
  // Outside the lock: the session's thread may be in a callback that reads the replica.
  if (session) session->stop();
}

}  // namespace libreta::capi

extern "C" {

int libreta_sync_start(libreta_replica* replica, const libreta_sync_options* options,
                       libreta_error* error) {
  return guarded(error, [&] {
    require(replica, "replica");
    require(options, "options");
    if (options->version < 1 || options->version > LIBRETA_SYNC_OPTIONS_VERSION) {
      throw Error(ErrorCode::invalid_value,
                  "unknown libreta_sync_options version " + std::to_string(options->version));
    }
    client::SyncOptions sync;
    sync.server_url = require_text(options->server_url, "server_url");
    sync.token = require_text(options->token, "token");
    if (options->ca_file != nullptr) sync.ca_file = options->ca_file;
    sync.allow_plain = options->allow_plain != 0;
    sync.compress = options->compress != 0;
    sync.on_event = [replica](const client::SyncEvent& event) { on_sync_event(*replica, event); };
    with_replica(replica, [](client::Replica&) {});  // refuses a closed replica
    std::lock_guard lock(replica->sync_mutex);
    if (replica->session) throw Error(ErrorCode::out_of_order, "a sync session is running");
    auto session = std::make_shared<client::SyncSession>(replica->path, std::move(sync));
    session->start();
    replica->session = std::move(session);
  });
}

int libreta_sync_stop(libreta_replica* replica, libreta_error* error) {
  return guarded(error, [&] {
    require(replica, "replica");
    stop_session(*replica);
  });
}

int libreta_sync_get_status(libreta_replica* replica, libreta_sync_status* status,
                            libreta_error* error) {
  return guarded(error, [&] {
    require(status, "status");
    libreta_sync_status out{};
    std::shared_ptr<client::SyncSession> session;
    with_replica(replica, [&](client::Replica& r) {
      session = session_of(*replica);
      if (session) return;
      out.pending = r.pending_count();
      out.cursor = r.sync_cursor().since;
      const auto last = client::SqliteSyncReplica(r).last_sync_ms();
      out.last_sync_ms = last ? static_cast<std::int64_t>(*last) : -1;
    });
    if (session) out = status_of(session->status());
    *status = out;
  });
}

}  // extern "C"
