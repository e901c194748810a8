// Compressed frames (protocol version 2, docs/protocol.md "Compression"). A message is one
// JSON text; from version 2 on, a peer may send a large one as a binary WebSocket frame
// holding that text compressed as a single zstd frame that declares its decompressed size.
// Compression is per message (no state kept between frames), so a frame shared by many
// connections is compressed once, and an idle connection holds no compression state.
// Thread-safe: each thread keeps its own compression and decompression contexts.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "libreta/protocol/error.hpp"

namespace libreta {

// The first protocol version with compressed binary frames.
inline constexpr int kCompressedFramesProtocol = 2;

// Messages shorter than this go as text: an acknowledgement or a single-field live update
// gains a few dozen bytes at most, not worth a frame the other side must decompress.
inline constexpr std::size_t kCompressMinBytes = 256;

// zstd levels. The server compresses pages and live updates for many devices, so it takes
// the fastest level; a device compresses only its own pushes, over a slow link.
inline constexpr int kServerCompressionLevel = 1;
inline constexpr int kDeviceCompressionLevel = 3;

// `text` compressed, or nullopt when it is shorter than kCompressMinBytes or would not
// shrink by at least an eighth (already dense text, tiny messages).
std::optional<std::string> compress_message(std::string_view text, int level);

// The text of a compressed frame. Refuses, without allocating past `max_bytes`: a frame that
// is not one complete zstd frame, one that does not declare its size or declares more than
// `max_bytes` (too_large), and one whose content differs from its declared size.
Result<std::string> decompress_message(std::string_view frame, std::size_t max_bytes);

}  // namespace libreta
