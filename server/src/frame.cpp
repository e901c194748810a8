#include "libreta/server/frame.hpp"

#include <utility>

#include "libreta/protocol/compression.hpp"

namespace libreta::server {

SharedFrame make_frame(const Message& message, bool compress) {
  std::string text = encode_message(message);
  if (compress) {
    if (auto compressed = compress_message(text, kServerCompressionLevel))
      return std::make_shared<const Frame>(Frame{std::move(*compressed), true});
  }
  return std::make_shared<const Frame>(Frame{std::move(text), false});
}

}  // namespace libreta::server
