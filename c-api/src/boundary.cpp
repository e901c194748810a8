#include "boundary.hpp"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>

namespace libreta::capi {

void fill_error(libreta_error* error, int code, std::string_view message) {
  if (error == nullptr) return;
  error->code = code;
  std::size_t length = std::min(message.size(), sizeof error->message - 1);
  // Never cut a UTF-8 sequence in two: back up to the start of the character cut.
  if (length < message.size()) {
    while (length > 0 && (static_cast<unsigned char>(message[length]) & 0xC0) == 0x80) --length;
  }
  if (length > 0) std::memcpy(error->message, message.data(), length);  // data() may be null
  error->message[length] = '\0';
}

int report_current_exception(libreta_error* error) noexcept {
  try {
    throw;
  } catch (const Error& e) {
    fill_error(error, static_cast<int>(e.code()), e.what());
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    fill_error(error, LIBRETA_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    fill_error(error, LIBRETA_INTERNAL, e.what());
  } catch (...) {
    fill_error(error, LIBRETA_INTERNAL, "unknown failure");
  }
  return LIBRETA_INTERNAL;
}

void require(const void* pointer, const char* what) {
  if (pointer == nullptr) throw Error(ErrorCode::missing_field, std::string(what) + " is NULL");
}

std::string_view require_text(const char* text, const char* what) {
  require(text, what);
  return text;
}

char* copy_out(std::string_view text) {
  auto* copy = static_cast<char*>(std::malloc(text.size() + 1));
  if (copy == nullptr) throw std::bad_alloc();
  if (!text.empty()) std::memcpy(copy, text.data(), text.size());
  copy[text.size()] = '\0';
  return copy;
}

}  // namespace libreta::capi
