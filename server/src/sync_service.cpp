// The sync service: its shared context, and the threads that work for its connections (the
// writer, the publisher, the revocation watcher), made and stopped together.
#include "libreta/server/sync_service.hpp"

#include <utility>

#include "commit_writer.hpp"
#include "publisher.hpp"
#include "revocation_watcher.hpp"
#include "sync_context.hpp"

namespace libreta::server {

// The context, then the threads, each started once what it uses is made.
struct SyncService::Impl {
  Impl(Store& store, SyncServiceOptions options)
      : context(store, std::move(options)),
        publisher(context.sessions),
        writer(context, publisher),
        revocations(store, context.sessions, context.options.revocation_check) {}

  SyncContext context;
  Publisher publisher;
  CommitWriter writer;
  RevocationWatcher revocations;
};

std::shared_ptr<SyncService> SyncService::create(Store& store, SyncServiceOptions options) {
  return std::shared_ptr<SyncService>(
      new SyncService(std::make_unique<Impl>(store, std::move(options))));
}

SyncService::SyncService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SyncService::~SyncService() {
  stop();
}

void SyncService::stop() {
  impl_->revocations.stop();
  impl_->context.writes.stop();
  impl_->writer.join();
  // What the writer committed is acknowledged and announced before the service stops.
  impl_->publisher.finish();
}

SyncServiceStats SyncService::stats() const {
  return impl_->context.counters.snapshot();
}

Store& SyncService::store() {
  return impl_->context.store;
}

void SyncService::close_sessions_of_token(const std::string& token_id) {
  impl_->context.sessions.close_sessions_of_token(token_id);
}

std::shared_ptr<SyncConnection> SyncService::open_connection(std::shared_ptr<Outbound> out,
                                                             std::string peer) {
  // Shares the service's ownership: its threads run while a connection may use them.
  std::shared_ptr<SyncContext> context(shared_from_this(), &impl_->context);
  auto connection =
      std::make_shared<SyncConnection>(std::move(context), std::move(out), std::move(peer));
  ++impl_->context.counters.connections;
  return connection;
}

}  // namespace libreta::server
