#include "libreta/protocol/compression.hpp"

#include <cstring>
#include <memory>

#include <zstd.h>

namespace libreta {

namespace {

struct CompressContextDeleter {
  void operator()(ZSTD_CCtx* context) const { ZSTD_freeCCtx(context); }
};
struct DecompressContextDeleter {
  void operator()(ZSTD_DCtx* context) const { ZSTD_freeDCtx(context); }
};

// One context per thread, reused: creating one costs more than compressing a small message.
ZSTD_CCtx* compress_context() {
  thread_local std::unique_ptr<ZSTD_CCtx, CompressContextDeleter> context(ZSTD_createCCtx());
  return context.get();
}

ZSTD_DCtx* decompress_context() {
  thread_local std::unique_ptr<ZSTD_DCtx, DecompressContextDeleter> context(ZSTD_createDCtx());
  return context.get();
}

}  // namespace

std::optional<std::string> compress_message(std::string_view text, int level) {
  if (text.size() < kCompressMinBytes) return std::nullopt;
  ZSTD_CCtx* context = compress_context();
  if (!context) return std::nullopt;  // out of memory: the text goes as it is
  std::string out(ZSTD_compressBound(text.size()), '\0');
  // The frame declares its content size (the receiver requires it, decompress_message) and
  // carries a checksum, so that a corrupted frame is refused rather than read as another
  // message.
  ZSTD_CCtx_reset(context, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 1);
  ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1);
  const std::size_t written =
      ZSTD_compress2(context, out.data(), out.size(), text.data(), text.size());
  if (ZSTD_isError(written) || written > text.size() - text.size() / 8) return std::nullopt;
  out.resize(written);
  out.shrink_to_fit();  // the bound is about the text's size: a shared page keeps only its bytes
  return out;
}

Result<std::string> decompress_message(std::string_view frame, std::size_t max_bytes) {
  // The current zstd format only: legacy formats (which a system libzstd may still read)
  // carry no checksum.
  const unsigned char magic[4] = {0x28, 0xb5, 0x2f, 0xfd};  // ZSTD_MAGICNUMBER, little-endian
  if (frame.size() < 4 || std::memcmp(frame.data(), magic, 4) != 0) {
    return Error(ErrorCode::malformed, "a binary frame must be one zstd-compressed message");
  }
  const unsigned long long declared = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) {
    return Error(ErrorCode::malformed, "a binary frame must be one zstd-compressed message");
  }
  if (declared == ZSTD_CONTENTSIZE_UNKNOWN) {
    return Error(ErrorCode::malformed, "a compressed frame must declare its decompressed size");
  }
  if (declared > max_bytes) {
    return Error(ErrorCode::too_large, "a compressed message of " + std::to_string(declared) +
                                           " bytes is over the limit of " +
                                           std::to_string(max_bytes));
  }
  // The whole input must be exactly one frame: nothing appended after it.
  const std::size_t frame_size = ZSTD_findFrameCompressedSize(frame.data(), frame.size());
  if (ZSTD_isError(frame_size) || frame_size != frame.size()) {
    return Error(ErrorCode::malformed, "a binary frame must be exactly one zstd frame");
  }
  ZSTD_DCtx* context = decompress_context();
  if (!context) return Error(ErrorCode::internal, "out of memory for decompression");
  std::string text(static_cast<std::size_t>(declared), '\0');
  const std::size_t produced =
      ZSTD_decompressDCtx(context, text.data(), text.size(), frame.data(), frame.size());
  if (ZSTD_isError(produced)) {
    return Error(ErrorCode::malformed,
                 std::string("a compressed frame is corrupt: ") + ZSTD_getErrorName(produced));
  }
  if (produced != text.size()) {
    return Error(ErrorCode::malformed, "a compressed frame is shorter than it declares");
  }
  return text;
}

}  // namespace libreta
