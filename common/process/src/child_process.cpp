#include "libreta/process/child_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace libreta::process {

namespace {

[[noreturn]] void system_failure(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

int milliseconds_until(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<std::int64_t>(0, left.count()));
}

}  // namespace

ChildProcess::ChildProcess(const std::filesystem::path& program,
                           const std::vector<std::string>& args, const std::filesystem::path& log,
                           bool pipes, std::uint64_t open_files) {
  int in_pipe[2] = {-1, -1};
  int out_pipe[2] = {-1, -1};
  if (pipes && (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0)) {
    system_failure("pipe");
  }
  std::vector<std::string> all = {program.string()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : all) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const std::string log_path = log.string();
  const auto files = static_cast<rlim_t>(open_files);
  // fork and exec rather than posix_spawn: the parent's death signal and the file limit
  // are set in the child, where only async-signal-safe calls happen before exec.
  pid_ = ::fork();
  if (pid_ == 0) {
    // A parent killed mid-run must not leave its children behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (files > 0) {
      const rlimit limit{files, files};
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    const int null_fd = pipes ? -1 : ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log_fd < 0 || (!pipes && null_fd < 0)) ::_exit(126);
    ::dup2(pipes ? in_pipe[0] : null_fd, STDIN_FILENO);
    ::dup2(pipes ? out_pipe[1] : log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execve(argv[0], argv.data(), environ);
    ::_exit(127);
  }
  const int fork_error = errno;
  if (pipes) {
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    stdin_fd_ = in_pipe[1];
    stdout_fd_ = out_pipe[0];
  }
  if (pid_ < 0) {
    close_pipes();
    pid_ = 0;
    errno = fork_error;
    system_failure("cannot start " + program.string());
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) kill_now();
  close_pipes();
}

void ChildProcess::close_pipes() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  stdin_fd_ = stdout_fd_ = -1;
}

bool ChildProcess::write_line(const std::string& line) {
  if (stdin_fd_ < 0 || pid_ <= 0) return false;
  const std::string text = line + "\n";
  std::size_t written = 0;
  while (written < text.size()) {
    // SIGPIPE is ignored by the test's main (a dead child must not kill the driver).
    const ssize_t n = ::write(stdin_fd_, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    written += static_cast<std::size_t>(n);
  }
  return true;
}

std::optional<std::string> ChildProcess::read_line(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    if (const auto end = buffered_.find('\n'); end != std::string::npos) {
      std::string line = buffered_.substr(0, end);
      buffered_.erase(0, end + 1);
      return line;
    }
    if (stdout_fd_ < 0) return std::nullopt;
    pollfd ready{stdout_fd_, POLLIN, 0};
    const int n = ::poll(&ready, 1, milliseconds_until(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;  // the deadline
    char chunk[4096];
    const ssize_t got = ::read(stdout_fd_, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return std::nullopt;  // the child closed its stdout: it is gone
    buffered_.append(chunk, static_cast<std::size_t>(got));
  }
}

int ChildProcess::kill_now() {
  if (pid_ <= 0) return 0;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = 0;
  close_pipes();
  buffered_.clear();
  return status;
}

std::optional<int> ChildProcess::poll_exit() {
  if (pid_ <= 0) return std::nullopt;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = 0;
    close_pipes();
    return status;
  }
  return std::nullopt;
}

std::optional<int> ChildProcess::wait_exit(std::chrono::steady_clock::time_point deadline) {
  // Reaping has no timed wait: look often, the child is expected to be on its way out.
  for (;;) {
    if (auto status = poll_exit()) return status;
    if (pid_ <= 0 || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::optional<int> ChildProcess::stop(int signal, std::chrono::steady_clock::time_point deadline) {
  if (pid_ <= 0) return std::nullopt;
  ::kill(pid_, signal);
  if (auto status = wait_exit(deadline)) return status;
  kill_now();
  return std::nullopt;
}

std::string tail_of_file(const std::filesystem::path& file, std::size_t bytes) {
  std::ifstream in(file, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.size() > bytes ? "..." + text.substr(text.size() - bytes) : text;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

}  // namespace libreta::process
