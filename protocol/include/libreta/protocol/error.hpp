// The project's error type and its code registry.
// Storage and merge code throws `libreta::Error`; decoders of untrusted input return
// `Result<T>` instead and never throw. Pure values, usable from any thread.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace libreta {

// Every error the libraries report, with a stable numeric value (it goes on the wire and
// into exit codes). Add new codes at the end of their block; never renumber.
enum class ErrorCode : int {
  // Input that is malformed or invalid (1xx).
  malformed = 100,      // not parseable at all (bad JSON, truncated)
  wrong_type = 101,     // a member has the wrong JSON type
  missing_field = 102,  // a required member is absent
  unknown_field = 103,  // a member or field the schema does not know
  invalid_value = 104,  // right type, but not an acceptable value
  too_large = 105,      // over a size limit
  unknown_table = 106,  // table not in the schema
  clock_skew = 107,     // a timestamp too far in the future
  // Data state (2xx).
  not_found = 200,       // no such row (or it is deleted)
  already_exists = 201,  // a create with an id that is taken
  // Storage (3xx).
  storage = 300,         // the database refused an operation
  storage_full = 301,    // disk or database full
  schema_too_new = 302,  // the file was written by a newer version of libreta
  // Sync protocol and sessions (4xx).
  bad_token = 400,             // unknown or revoked token
  unsupported_protocol = 401,  // no protocol version in common
  unsupported_schema = 402,    // the client's schema is newer than the server's
  unknown_message = 403,       // a "type" this peer does not know
  out_of_order = 404,          // a message not valid in the session's state (push before hello)
  forbidden = 405,             // outside the writer's scope or role
  rate_limited = 406,          // too many messages or connections
  timeout = 407,               // a handshake or an idle connection took too long
  shutting_down = 408,         // the server is stopping; reconnect later
  unreachable = 409,           // the server cannot be reached (refused, reset, closed)
  tls = 410,                   // no secure connection: the server's certificate is not trusted
                               // or not for its host, a failed TLS handshake, or a refused
                               // plain ws:// to a host that is not loopback
  closed = 411,                // the replica or session was closed (C API handles)
  // Internal (9xx).
  internal = 900,
};

// The registry: every code in declaration order, for tests and documentation.
inline constexpr ErrorCode kAllErrorCodes[] = {
    ErrorCode::malformed,
    ErrorCode::wrong_type,
    ErrorCode::missing_field,
    ErrorCode::unknown_field,
    ErrorCode::invalid_value,
    ErrorCode::too_large,
    ErrorCode::unknown_table,
    ErrorCode::clock_skew,
    ErrorCode::not_found,
    ErrorCode::already_exists,
    ErrorCode::storage,
    ErrorCode::storage_full,
    ErrorCode::schema_too_new,
    ErrorCode::bad_token,
    ErrorCode::unsupported_protocol,
    ErrorCode::unsupported_schema,
    ErrorCode::unknown_message,
    ErrorCode::out_of_order,
    ErrorCode::forbidden,
    ErrorCode::rate_limited,
    ErrorCode::timeout,
    ErrorCode::shutting_down,
    ErrorCode::unreachable,
    ErrorCode::tls,
    ErrorCode::closed,
    ErrorCode::internal,
};

// Stable snake_case name of a code ("invalid_value"), as used on the wire.
std::string_view error_code_name(ErrorCode code);
// The code with that name, or ErrorCode::internal for a name this version does not know.
ErrorCode error_code_from_name(std::string_view name);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, std::string message)
      : std::runtime_error(std::move(message)), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// The outcome of decoding or validating untrusted input: a value or an Error, never a throw.
template <class T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}
  Result(Error error) : state_(std::move(error)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const T& value() const& { return std::get<0>(state_); }
  const Error& error() const { return std::get<1>(state_); }
  // The value, or throws the Error: for callers that are themselves allowed to throw.
  T take() && {
    if (!ok()) throw std::get<1>(state_);
    return std::get<0>(std::move(state_));
  }

 private:
  std::variant<T, Error> state_;
};

struct Ok {};
using Status = Result<Ok>;

}  // namespace libreta
