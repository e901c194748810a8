// libFuzzer target: reading a spreadsheet's CSV export, as `libreta import` does with any
// file a seller points it at. Beyond "no crash, no leak, no undefined behaviour", it checks
// that decoding always yields valid UTF-8 (what the replica and the JSON output require),
// and that parsing keeps record lines in order.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "csv_reader.hpp"
#include "libreta/protocol/text.hpp"
#include "text_encoding.hpp"

namespace {

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "fuzz_csv: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace libreta::cli;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  const DecodedText decoded = decode_text(bytes);
  if (!libreta::is_valid_utf8(decoded.text)) violated("decoded text is not valid UTF-8");

  const CsvDocument document = read_csv(bytes);
  std::size_t previous_line = 0;
  for (const CsvRecord& record : document.records) {
    if (record.line <= previous_line) violated("records out of line order");
    previous_line = record.line;
    for (const std::string& field : record.fields) {
      if (!libreta::is_valid_utf8(field)) violated("a field is not valid UTF-8");
    }
  }

  // Every separator on the same text, as a --separator choice or a wrong guess would.
  for (const char separator : {',', ';', '\t'}) (void)parse_csv(decoded.text, separator);
  (void)detect_separator(decoded.text);
  (void)display_width(decoded.text);
  (void)utf8_prefix(decoded.text, size / 2);
  return 0;
}
