// libFuzzer target: `libreta import` end to end, short of the command line: the bytes are
// read as a CSV export and imported into a real replica (a SQLite file in a temporary
// directory, fresh for every input so that a finding replays from its input alone). Beyond
// "no crash, no leak, no undefined behaviour, no storage error", it checks the importer's
// promises: a dry run writes nothing, every data record gets a result, and importing the same
// file a second time creates no customer.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "csv_reader.hpp"
#include "importer.hpp"
#include "libreta/client/replica.hpp"
#include "libreta/protocol/hlc.hpp"

namespace {

namespace fs = std::filesystem;
using namespace libreta;
using namespace libreta::cli;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "fuzz_csv_import: %s\n", what);
  std::abort();
}

// In memory when the machine has /dev/shm: every write of the replica is a transaction with
// an fsync, which on a disk would make this target run a few inputs a second instead of
// hundreds; durability is not what it tests.
fs::path scratch_root() {
  std::error_code ec;
  if (fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0) return "/dev/shm";
  return fs::temp_directory_path();
}

// A directory for one input's replica, removed with it (libFuzzer ends the process with
// _Exit, so nothing may be left for an exit handler to clean up).
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (scratch_root() / "libreta-fuzz-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) violated("cannot create a temporary directory");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

ImportReport import(client::Replica& replica, const CsvDocument& document, bool dry_run,
                    ImportProblem& problem) {
  ImportOptions options;
  options.dry_run = dry_run;
  options.owner = "ana";
  options.created_at = "2024-03-15T10:00:00Z";
  std::string detail;
  return Importer(replica, Lang::es).run(document, options, problem, detail);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const CsvDocument document =
      read_csv(std::string_view(reinterpret_cast<const char*>(data), size));

  const ScratchDir dir;
  {
    client::ReplicaOptions replica_options;
    replica_options.clock = std::make_shared<FakeClock>();
    replica_options.new_replica_id = "fuzz";
    auto replica = client::Replica::open(dir.path() / "book.db", replica_options);

    ImportProblem problem = ImportProblem::none;
    const ImportReport preview = import(*replica, document, /*dry_run=*/true, problem);
    if (replica->pending_count() != 0) violated("a dry run wrote to the replica");
    if (problem == ImportProblem::none) {
      if (preview.rows.size() + 1 != document.records.size()) {
        violated("a data record without a result");
      }
      (void)import(*replica, document, /*dry_run=*/false, problem);
      const ImportReport again = import(*replica, document, /*dry_run=*/false, problem);
      if (again.count(RowResult::created) != 0) violated("a second import created customers");
    }
  }
  return 0;
}
