// Runs the real `libreta` binary as a subprocess on a temporary home, for the CLI tests:
// arguments in, exit status, stdout and stderr out. Each CliFixture has its own home and a
// fixed "today" (LIBRETA_TODAY) so that reminders and follow-ups are deterministic.
// Not thread-safe: one test thread drives it.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/temp_dir.hpp"

namespace libreta::test {

struct CliResult {
  int status = -1;  // exit status, or 128 + signal
  std::string out, err;
};

// A started `libreta` process (for `sync --watch`): its output is collected as it comes.
class CliProcess {
 public:
  CliProcess(const std::vector<std::string>& args, const std::map<std::string, std::string>& env);
  ~CliProcess();
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;

  // Reads output until `text` appears in stdout or the deadline passes; true if it appeared.
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout);
  void signal(int signal_number);
  // What the process wrote to stdout so far (as read by wait_for_output).
  const std::string& output() const { return result_.out; }
  // Waits for the process to end (killing it after `timeout`) and returns what it did.
  CliResult wait(std::chrono::milliseconds timeout);

 private:
  bool pump(std::chrono::milliseconds timeout);  // reads what is available; false at EOF

  int pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  CliResult result_;
  bool ended_ = false;
};

class CliFixture {
 public:
  CliFixture();

  // Runs `libreta --home HOME args...` with the fixture's environment plus `env`.
  CliResult run(const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env = {});
  // The same with --json; fails the test unless stdout is JSON.
  nlohmann::json json(const std::vector<std::string>& args, int expected_status = 0,
                      const std::map<std::string, std::string>& env = {});
  std::unique_ptr<CliProcess> start(const std::vector<std::string>& args,
                                    const std::map<std::string, std::string>& env = {});

  // A file in the fixture's scratch directory with exactly these bytes.
  std::filesystem::path write_file(const std::string& name, const std::string& bytes);
  std::string read_file(const std::filesystem::path& path) const;

  std::filesystem::path home() const { return home_; }
  std::filesystem::path file(const std::string& name) const { return dir_.file(name); }

  // LANG for the child; "C" (English) unless a test changes it.
  std::string lang = "C";
  std::string today = "2024-03-15";

 private:
  std::map<std::string, std::string> environment(
      const std::map<std::string, std::string>& extra) const;

  TempDir dir_;
  std::filesystem::path home_;
};

// The path of the libreta binary under test.
std::string libreta_binary();

}  // namespace libreta::test
