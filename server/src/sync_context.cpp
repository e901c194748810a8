#include "sync_context.hpp"

#include <utility>

#include "libreta/protocol/customer_book.hpp"

namespace libreta::server {

SyncContext::SyncContext(Store& s, SyncServiceOptions o)
    : options(std::move(o)),
      clock(options.clock ? options.clock : std::make_shared<SystemClock>()),
      schema(customer_book_schema()),
      store(s),
      epoch(s.epoch()),
      refusals(options.log, counters),
      admission(options),
      sessions(options.max_connections_per_token),
      writes(options.max_group_changes),
      page_cache(options.page_cache_bytes > 0
                     ? std::make_unique<PageCache>(options.page_cache_bytes)
                     : nullptr) {
  counters.last_seq = store.last_seq();
}

}  // namespace libreta::server
