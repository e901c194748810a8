// The library, its errors, and opening and closing a replica.
#include <cstdlib>
#include <string_view>

#include "boundary.hpp"
#include "replica_handle.hpp"

using namespace libreta;
using namespace libreta::capi;

namespace {

// The header's codes are the registry's: a code added to one and not the other fails here.
constexpr bool codes_match() {
  for (ErrorCode code : kAllErrorCodes) {
    switch (static_cast<libreta_code>(code)) {
      case LIBRETA_MALFORMED:
      case LIBRETA_WRONG_TYPE:
      case LIBRETA_MISSING_FIELD:
      case LIBRETA_UNKNOWN_FIELD:
      case LIBRETA_INVALID_VALUE:
      case LIBRETA_TOO_LARGE:
      case LIBRETA_UNKNOWN_TABLE:
      case LIBRETA_CLOCK_SKEW:
      case LIBRETA_NOT_FOUND:
      case LIBRETA_ALREADY_EXISTS:
      case LIBRETA_STORAGE:
      case LIBRETA_STORAGE_FULL:
      case LIBRETA_SCHEMA_TOO_NEW:
      case LIBRETA_BAD_TOKEN:
      case LIBRETA_UNSUPPORTED_PROTOCOL:
      case LIBRETA_UNSUPPORTED_SCHEMA:
      case LIBRETA_UNKNOWN_MESSAGE:
      case LIBRETA_OUT_OF_ORDER:
      case LIBRETA_FORBIDDEN:
      case LIBRETA_RATE_LIMITED:
      case LIBRETA_TIMEOUT:
      case LIBRETA_SHUTTING_DOWN:
      case LIBRETA_UNREACHABLE:
      case LIBRETA_TLS:
      case LIBRETA_CLOSED:
      case LIBRETA_INTERNAL:
        break;
      default:
        return false;
    }
  }
  return std::size(kAllErrorCodes) == 26;
}
static_assert(codes_match(), "libreta.h's libreta_code must list the error registry");
static_assert(std::string_view(LIBRETA_VERSION_TEXT) == LIBRETA_PROJECT_VERSION,
              "libreta.h's version macros must say the project's version (CMakeLists.txt)");
static_assert(LIBRETA_VERSION_NUMBER ==
              LIBRETA_VERSION_MAJOR * 10000 + LIBRETA_VERSION_MINOR * 100 + LIBRETA_VERSION_PATCH);

}  // namespace

extern "C" {

const char* libreta_version(void) {
  return LIBRETA_VERSION_TEXT;
}

int libreta_version_number(void) {
  return LIBRETA_VERSION_NUMBER;
}

const char* libreta_code_name(int code) {
  if (code == LIBRETA_OK) return "ok";
  for (ErrorCode known : kAllErrorCodes) {
    // The names are string literals: static, NUL-terminated.
    if (static_cast<int>(known) == code) return error_code_name(known).data();
  }
  return "unknown";
}

void libreta_free(void* text) {
  std::free(text);
}

int libreta_open(const char* path, const libreta_open_options* options, libreta_replica** replica,
                 libreta_error* error) {
  return guarded(error, [&] {
    const std::string_view file = require_text(path, "path");
    require(replica, "replica");
    client::ReplicaOptions replica_options;
    auto delivery = LIBRETA_DELIVER_ON_SYNC_THREAD;
    if (options != nullptr) {
      if (options->version < 1 || options->version > LIBRETA_OPEN_OPTIONS_VERSION) {
        throw Error(ErrorCode::invalid_value,
                    "unknown libreta_open_options version " + std::to_string(options->version));
      }
      if (options->new_replica_id != nullptr)
        replica_options.new_replica_id = options->new_replica_id;
      if (options->delivery != LIBRETA_DELIVER_ON_SYNC_THREAD &&
          options->delivery != LIBRETA_DELIVER_BUFFERED) {
        throw Error(ErrorCode::invalid_value,
                    "unknown delivery " + std::to_string(options->delivery));
      }
      delivery = static_cast<libreta_delivery>(options->delivery);
    }
    auto handle = std::make_unique<libreta_replica>();
    handle->path = std::string(file);
    handle->delivery = delivery;
    handle->replica = client::Replica::open(handle->path, std::move(replica_options));
    *replica = handle.release();
  });
}

int libreta_close(libreta_replica* replica, libreta_error* error) {
  return guarded(error, [&] {
    require(replica, "replica");
    stop_session(*replica);
    {
      std::lock_guard lock(replica->data_mutex);
      replica->replica.reset();
    }
    std::lock_guard lock(replica->events_mutex);
    replica->queue.clear();
  });
}

void libreta_release(libreta_replica* replica) {
  if (replica == nullptr || in_callback_of(*replica)) return;
  libreta_close(replica, nullptr);
  delete replica;
}

int libreta_replica_id(libreta_replica* replica, char** id, libreta_error* error) {
  return guarded(error, [&] {
    require(id, "id");
    with_replica(replica, [&](client::Replica& r) { *id = copy_out(r.replica_id()); });
  });
}

}  // extern "C"
