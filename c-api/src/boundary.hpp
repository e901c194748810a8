// The C API's boundary: every exported function runs its body through guarded(), which
// turns whatever the body throws into a status code and a filled libreta_error, so that
// nothing crosses into C. Also the checks of arguments and the copying of text out.
// Thread-safe functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "libreta/libreta.h"
#include "libreta/protocol/error.hpp"

namespace libreta::capi {

// Writes `code` and `message` into `error` (when not null), cut to fit.
void fill_error(libreta_error* error, int code, std::string_view message);

// Throws missing_field naming `what` when `pointer` is null.
void require(const void* pointer, const char* what);
// `text` as a string_view; missing_field naming `what` when null.
std::string_view require_text(const char* text, const char* what);

// A copy of `text` the caller frees with libreta_free().
char* copy_out(std::string_view text);

// Inside a catch block: the code of the exception being handled (libreta::Error's own,
// LIBRETA_INTERNAL for anything else), with `error` filled.
int report_current_exception(libreta_error* error) noexcept;

// Runs `body`; LIBRETA_OK when it returns, else the code of what it threw, with `error`
// filled either way.
template <class Body>
int guarded(libreta_error* error, Body&& body) noexcept {
  try {
    body();
    fill_error(error, LIBRETA_OK, {});
    return LIBRETA_OK;
  } catch (...) {
    return report_current_exception(error);
  }
}

}  // namespace libreta::capi
