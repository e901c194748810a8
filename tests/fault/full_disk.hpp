// A disk that fills up, for SQLite files of this process: a VFS registered as the default
// that passes everything to the real one, except that while "full", a write that would make
// a file under the given directory larger fails with SQLITE_FULL, as ENOSPC would. Writes
// inside a file's current size still succeed, as they do on a real full disk.
// Thread-safe: the switch is atomic; install() once per process, before opening files.
#pragma once

#include <cstdint>
#include <filesystem>

namespace libreta::fault {

class FullDisk {
 public:
  // Registers the VFS as SQLite's default (once per process).
  static void install();
  // Files under `directory` are on the disk that fills up; nothing is full until set_full.
  static void set_directory(const std::filesystem::path& directory);
  static void set_full(bool full);
  // Writes refused since install().
  static std::uint64_t refused_writes();
};

}  // namespace libreta::fault
