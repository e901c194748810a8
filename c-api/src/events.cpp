// Listeners, their dispatch, and the queue of buffered mode.
#include "events.hpp"

#include <algorithm>

#include "boundary.hpp"
#include "json_out.hpp"

using namespace libreta;
using namespace libreta::capi;

namespace {

// The replicas whose callbacks this thread is inside, innermost last.
thread_local std::vector<const libreta_replica*> t_in_callbacks;

struct CallbackScope {
  explicit CallbackScope(const libreta_replica& handle) { t_in_callbacks.push_back(&handle); }
  ~CallbackScope() { t_in_callbacks.pop_back(); }
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;
};

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

Event to_event(const client::SyncEvent& event) {
  return std::visit(Overloaded{
                        [](const client::StatusChanged& e) -> Event { return status_of(e.status); },
                        [](const client::ChangesArrived& e) -> Event {
                          ChangesEvent changes{e.rows, e.applied, e.live, {}, false};
                          const std::size_t listed = std::min(e.received.size(), kMaxChangedRows);
                          changes.changed.reserve(listed);
                          for (std::size_t i = 0; i < listed; ++i) {
                            changes.changed.push_back({e.received[i].table, e.received[i].id});
                          }
                          changes.truncated = listed < e.received.size();
                          return changes;
                        },
                        [](const client::ConflictsReported& e) -> Event { return e.conflicts; },
                        [](const client::ChangesRefused& e) -> Event { return e.refused; },
                    },
                    event);
}

// Folds `later` into `earlier`, an event of the same kind still queued.
void merge(Event& earlier, Event&& later) {
  if (auto* changes = std::get_if<ChangesEvent>(&earlier)) {
    auto& more = std::get<ChangesEvent>(later);
    changes->rows += more.rows;
    changes->applied += more.applied;
    changes->live = changes->live && more.live;
    for (auto& ref : more.changed) {
      if (changes->changed.size() == kMaxChangedRows) {
        changes->truncated = true;
        break;
      }
      changes->changed.push_back(std::move(ref));
    }
    changes->truncated = changes->truncated || more.truncated;
  } else if (auto* conflicts = std::get_if<std::vector<ConflictNotice>>(&earlier)) {
    auto& more = std::get<std::vector<ConflictNotice>>(later);
    conflicts->insert(conflicts->end(), more.begin(), more.end());
  } else if (auto* refusals = std::get_if<std::vector<RefusedChange>>(&earlier)) {
    auto& more = std::get<std::vector<RefusedChange>>(later);
    refusals->insert(refusals->end(), more.begin(), more.end());
  } else {
    earlier = std::move(later);  // a status: the latest one
  }
}

bool has_listener(const libreta_replica& handle, std::size_t kind) {
  return std::any_of(handle.listeners.begin(), handle.listeners.end(),
                     [&](const auto& entry) { return entry.second.kind == kind; });
}

// Queues `event`, merged into the queued event of its kind if there is one: the queue holds
// at most one event of each kind, so it stays small however long the app waits.
void enqueue(libreta_replica& handle, Event event) {
  {
    std::lock_guard lock(handle.events_mutex);
    if (!has_listener(handle, event.index())) return;
    const auto same = std::find_if(handle.queue.begin(), handle.queue.end(),
                                   [&](const Event& e) { return e.index() == event.index(); });
    if (same != handle.queue.end()) {
      merge(*same, std::move(event));
    } else {
      handle.queue.push_back(std::move(event));
    }
  }
  handle.event_queued.notify_all();
}

// Calls the listeners of the event's kind, on this thread.
void dispatch(libreta_replica& handle, const Event& event) {
  std::lock_guard dispatching(handle.dispatch_mutex);
  std::vector<Listener> targets;
  {
    std::lock_guard lock(handle.events_mutex);
    for (const auto& [token, listener] : handle.listeners) {
      if (listener.kind == event.index()) targets.push_back(listener);
    }
  }
  if (targets.empty()) return;
  CallbackScope scope(handle);
  if (const auto* status = std::get_if<libreta_sync_status>(&event)) {
    for (const auto& l : targets) {
      reinterpret_cast<libreta_status_callback>(l.callback)(l.user_data, status);
    }
    return;
  }
  const std::string text = std::visit(
      Overloaded{
          [](const libreta_sync_status&) { return std::string(); },
          [](const ChangesEvent& e) { return to_text(changes_json(e)); },
          [](const std::vector<ConflictNotice>& e) { return to_text(conflicts_json(e)); },
          [](const std::vector<RefusedChange>& e) { return to_text(refusals_json(e)); },
      },
      event);
  using TextCallback = void (*)(void*, const char*);
  for (const auto& l : targets) {
    reinterpret_cast<TextCallback>(l.callback)(l.user_data, text.c_str());
  }
}

int add_listener(libreta_replica* replica, std::size_t kind, void (*callback)(), void* user_data,
                 libreta_listener_token* token, libreta_error* error) {
  return guarded(error, [&] {
    require(replica, "replica");
    require(reinterpret_cast<const void*>(callback), "callback");
    require(token, "token");
    with_replica(replica, [](client::Replica&) {});  // refuses a closed replica
    std::lock_guard lock(replica->events_mutex);
    const std::uint64_t issued = replica->next_token++;
    replica->listeners.emplace(issued, Listener{kind, callback, user_data});
    *token = issued;
  });
}

// The position of an event type in Event: the kind its listeners register for.
template <class T, std::size_t I = 0>
constexpr std::size_t kind_of() {
  if constexpr (std::is_same_v<std::variant_alternative_t<I, Event>, T>) {
    return I;
  } else {
    return kind_of<T, I + 1>();
  }
}

}  // namespace

namespace libreta::capi {

void on_sync_event(libreta_replica& handle, const client::SyncEvent& event) {
  // The session's thread: whatever happens here stays here.
  try {
    if (handle.delivery == LIBRETA_DELIVER_BUFFERED) {
      enqueue(handle, to_event(event));
    } else {
      dispatch(handle, to_event(event));
    }
  } catch (...) {
  }
}

bool in_callback_of(const libreta_replica& handle) {
  return std::find(t_in_callbacks.begin(), t_in_callbacks.end(), &handle) != t_in_callbacks.end();
}

}  // namespace libreta::capi

extern "C" {

int libreta_add_status_listener(libreta_replica* replica, libreta_status_callback callback,
                                void* user_data, libreta_listener_token* token,
                                libreta_error* error) {
  return add_listener(replica, kind_of<libreta_sync_status>(),
                      reinterpret_cast<void (*)()>(callback), user_data, token, error);
}

int libreta_add_changes_listener(libreta_replica* replica, libreta_changes_callback callback,
                                 void* user_data, libreta_listener_token* token,
                                 libreta_error* error) {
  return add_listener(replica, kind_of<ChangesEvent>(), reinterpret_cast<void (*)()>(callback),
                      user_data, token, error);
}

int libreta_add_conflicts_listener(libreta_replica* replica, libreta_conflicts_callback callback,
                                   void* user_data, libreta_listener_token* token,
                                   libreta_error* error) {
  return add_listener(replica, kind_of<std::vector<ConflictNotice>>(),
                      reinterpret_cast<void (*)()>(callback), user_data, token, error);
}

int libreta_add_refusals_listener(libreta_replica* replica, libreta_refusals_callback callback,
                                  void* user_data, libreta_listener_token* token,
                                  libreta_error* error) {
  return add_listener(replica, kind_of<std::vector<RefusedChange>>(),
                      reinterpret_cast<void (*)()>(callback), user_data, token, error);
}

int libreta_remove_listener(libreta_replica* replica, libreta_listener_token token,
                            libreta_error* error) {
  return guarded(error, [&] {
    require(replica, "replica");
    {
      std::lock_guard lock(replica->events_mutex);
      if (replica->listeners.erase(token) == 0) {
        throw Error(ErrorCode::not_found, "no listener " + std::to_string(token));
      }
    }
    // A call in progress on another thread ends before this returns.
    if (!in_callback_of(*replica)) {
      std::lock_guard wait_for_dispatch(replica->dispatch_mutex);
    }
  });
}

int libreta_wait_events(libreta_replica* replica, int timeout_ms, size_t* queued,
                        libreta_error* error) {
  return guarded(error, [&] {
    require(replica, "replica");
    with_replica(replica, [](client::Replica&) {});
    std::unique_lock lock(replica->events_mutex);
    replica->event_queued.wait_for(lock, std::chrono::milliseconds(std::max(timeout_ms, 0)),
                                   [&] { return !replica->queue.empty(); });
    if (queued != nullptr) *queued = replica->queue.size();
  });
}

int libreta_deliver_events(libreta_replica* replica, size_t* delivered, libreta_error* error) {
  return guarded(error, [&] {
    require(replica, "replica");
    with_replica(replica, [](client::Replica&) {});
    if (in_callback_of(*replica)) {
      throw Error(ErrorCode::out_of_order, "events cannot be delivered from inside a callback");
    }
    std::deque<Event> events;
    {
      std::lock_guard lock(replica->events_mutex);
      events.swap(replica->queue);
    }
    for (const auto& event : events) dispatch(*replica, event);
    if (delivered != nullptr) *delivered = events.size();
  });
}

}  // extern "C"
