// A child process of a test or a tool: started with fork and exec, its stdin and stdout on
// pipes (line-oriented commands and answers) or its output appended to a log file. It dies
// with the thread that started it, and is killed with SIGKILL if still running when its
// ChildProcess goes: nothing here waits for it to agree.
// Not thread-safe: one thread drives a ChildProcess.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace libreta::process {

class ChildProcess {
 public:
  // Starts `program` with `args`. With `pipes`, stdin and stdout are connected to this
  // process (write_line/read_line) and stderr is appended to `log`; otherwise stdin is
  // /dev/null and stdout and stderr are appended to `log`. `open_files`, when not 0, is the
  // child's limit of open files (RLIMIT_NOFILE), set before exec.
  ChildProcess(const std::filesystem::path& program, const std::vector<std::string>& args,
               const std::filesystem::path& log, bool pipes, std::uint64_t open_files = 0);
  ~ChildProcess();  // SIGKILL and reap if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // Sends one line (a newline is added). False if the child is gone.
  bool write_line(const std::string& line);
  // The next line from the child's stdout, or nullopt at the deadline or end of output.
  std::optional<std::string> read_line(std::chrono::steady_clock::time_point deadline);

  // SIGKILL, then reaps it. Returns the wait status.
  int kill_now();
  // Sends `signal` and waits until the deadline for the child to exit; SIGKILL after it.
  // Returns the wait status, or nullopt if it had to be killed.
  std::optional<int> stop(int signal, std::chrono::steady_clock::time_point deadline);
  // Reaps the child if it has exited; returns its wait status then.
  std::optional<int> poll_exit();
  // Waits for the child to exit by itself until the deadline.
  std::optional<int> wait_exit(std::chrono::steady_clock::time_point deadline);

 private:
  void close_pipes();

  pid_t pid_ = 0;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::string buffered_;
};

// The last `bytes` of a file, for failure messages.
std::string tail_of_file(const std::filesystem::path& file, std::size_t bytes = 4000);

// Describes a wait status: "exit 0", "signal 9".
std::string describe_wait_status(int status);

}  // namespace libreta::process
