// libFuzzer target: the sync protocol's message decoder, fed what a hostile peer could send
// in one text frame. Beyond "no crash, no leak, no undefined behaviour", it checks what the
// codec promises: decoding never throws, a message that passes the limits before hello
// passes the ordinary ones, whatever decodes encodes to text that decodes again, and that
// encoding is stable (the same message, the same bytes); a pushed change is validated
// against the customer book schema as the server does. The same bytes are also read as a
// compressed binary frame (protocol 2), whose decompression must stay within its limit; an
// encoded message must survive compression.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "libreta/protocol/codec.hpp"
#include "libreta/protocol/compression.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/messages.hpp"

namespace {

[[noreturn]] void violated(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_messages: %s\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  // As a binary frame: refused or decompressed within the limit, never past it.
  constexpr std::size_t kLimit = 1 << 20;
  if (auto inflated = libreta::decompress_message(text, kLimit)) {
    if (inflated.value().size() > kLimit) violated("decompressed past the limit", "");
  }

  auto decoded = libreta::decode_message(text);
  // What a server reads before hello: tighter limits, so nothing passes them that the
  // ordinary ones refuse.
  if (libreta::decode_message(text, libreta::kHelloJsonLimits) && !decoded) {
    violated("decodes before hello but not after", std::string(text.substr(0, 200)));
  }
  // The same bytes as a batch of changes (the codec's other entry point for untrusted text).
  (void)libreta::decode_changes(text);
  if (!decoded) return 0;

  libreta::Message& message = decoded.value();
  if (auto* push = std::get_if<libreta::Push>(&message)) {
    for (auto& pushed : push->changes) {
      (void)libreta::validate_change(libreta::customer_book_schema(), pushed.change);
    }
  }

  const std::string encoded = libreta::encode_message(message);
  auto again = libreta::decode_message(encoded);
  if (!again) violated("an encoded message does not decode", encoded);
  const std::string encoded_again = libreta::encode_message(again.value());
  if (encoded_again != encoded) violated("encoding is not stable", encoded + "\n" + encoded_again);
  if (auto compressed = libreta::compress_message(encoded, libreta::kServerCompressionLevel)) {
    auto back = libreta::decompress_message(*compressed, encoded.size());
    if (!back || back.value() != encoded) violated("compression does not round-trip", encoded);
  }
  return 0;
}
