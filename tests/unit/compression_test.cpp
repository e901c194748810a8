// Compressed frames of protocol 2: round trip, when compression is skipped, and hostile
// frames (bombs, corruption, trailing bytes) refused before anything is inflated.
#include <catch2/catch.hpp>

#include <random>

#include "libreta/protocol/compression.hpp"
#include "libreta/protocol/messages.hpp"

using namespace libreta;

namespace {

// A page-like message: rows that repeat their table, field names and versions.
std::string sample_page(int rows) {
  std::string text = R"({"type":"rows","since":0,"after":)" + std::to_string(rows) + R"(,"rows":[)";
  for (int i = 0; i < rows; ++i) {
    if (i) text += ',';
    text +=
        R"({"t":"customers","r":"c)" + std::to_string(i) + R"(","f":{"name":"Cliente )" +
        std::to_string(i) +
        R"(","city":"Sevilla"},"v":{"name":"1700000000000.0.dev1","city":"1700000000000.0.dev1"}})";
  }
  return text + "]}";
}

}  // namespace

TEST_CASE("compression: a message round-trips and shrinks", "[compression]") {
  const std::string text = sample_page(200);
  auto compressed = compress_message(text, kServerCompressionLevel);
  REQUIRE(compressed);
  CHECK(compressed->size() * 4 < text.size());
  auto back = decompress_message(*compressed, text.size());
  REQUIRE(back.ok());
  CHECK(back.value() == text);
}

TEST_CASE("compression: short or incompressible messages stay text", "[compression]") {
  CHECK_FALSE(compress_message(R"({"type":"ack","upto":7})", kDeviceCompressionLevel));
  std::mt19937_64 random(7);
  std::string noise(4096, '\0');
  for (char& c : noise) c = static_cast<char>(random());
  CHECK_FALSE(compress_message(noise, kDeviceCompressionLevel));
}

TEST_CASE("compression: hostile frames are refused without inflating them", "[compression]") {
  const std::string text = sample_page(50);
  auto compressed = compress_message(text, kDeviceCompressionLevel);
  REQUIRE(compressed);

  SECTION("over the limit once decompressed: refused from the declared size") {
    // A megabyte of one letter compresses to a few dozen bytes: a small frame, a big message.
    auto bomb = compress_message(std::string(1 << 20, 'a'), kDeviceCompressionLevel);
    REQUIRE(bomb);
    CHECK(bomb->size() < 1024);
    auto refused = decompress_message(*bomb, 64 * 1024);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code() == ErrorCode::too_large);
  }
  SECTION("not zstd at all") {
    auto refused = decompress_message("{\"type\":\"pull\"}", 1 << 20);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code() == ErrorCode::malformed);
    CHECK_FALSE(decompress_message("", 1 << 20).ok());
  }
  SECTION("truncated") {
    auto refused = decompress_message(compressed->substr(0, compressed->size() - 3), 1 << 20);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code() == ErrorCode::malformed);
  }
  SECTION("bytes after the frame") {
    CHECK_FALSE(decompress_message(*compressed + *compressed, 1 << 20).ok());
  }
  SECTION("any corrupted byte is detected by the checksum or the structure") {
    for (std::size_t i = 0; i < compressed->size(); ++i) {
      std::string corrupt = *compressed;
      corrupt[i] = static_cast<char>(corrupt[i] ^ 0x20);
      auto result = decompress_message(corrupt, 1 << 20);
      INFO("byte " << i);
      // A corrupted size field may still name a size within the limit; what matters is that
      // no corrupted frame is read as a different message.
      CHECK((!result.ok() || result.value() == text));
    }
  }
}
