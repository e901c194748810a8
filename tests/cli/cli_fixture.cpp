#include "cli_fixture.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

extern char** environ;

namespace libreta::test {
namespace {

constexpr std::chrono::seconds kRunTimeout{60};

std::vector<std::string> current_environment() {
  std::vector<std::string> out;
  for (char** e = environ; *e; ++e) out.emplace_back(*e);
  return out;
}

int spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
          int& out_fd, int& err_fd) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  // Nothing else of the test process goes along: a server's listening socket inherited by a
  // child would keep its port taken after the server closes it.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);

  std::vector<std::string> argv_storage{libreta_binary()};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  // The child's environment: the test's, minus what would change the tool's behaviour,
  // plus `env`.
  std::vector<std::string> env_storage;
  for (auto& entry : current_environment()) {
    const std::string name = entry.substr(0, entry.find('='));
    if (name == "LANG" || name == "LC_ALL" || name == "LC_MESSAGES" || name == "LIBRETA_HOME" ||
        name == "LIBRETA_TODAY" || name == "LANGUAGE" || env.count(name)) {
      continue;
    }
    env_storage.push_back(entry);
  }
  for (const auto& [name, value] : env) env_storage.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    throw std::runtime_error(std::string("cannot start libreta: ") + std::strerror(rc));
  }
  out_fd = out_pipe[0];
  err_fd = err_pipe[0];
  return pid;
}

}  // namespace

std::string libreta_binary() {
  return LIBRETA_BINARY;
}

CliProcess::CliProcess(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env) {
  pid_ = spawn(args, env, out_fd_, err_fd_);
}

CliProcess::~CliProcess() {
  if (!ended_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

bool CliProcess::pump(std::chrono::milliseconds timeout) {
  pollfd fds[2];
  nfds_t n = 0;
  if (out_fd_ >= 0) fds[n++] = {out_fd_, POLLIN, 0};
  if (err_fd_ >= 0) fds[n++] = {err_fd_, POLLIN, 0};
  if (n == 0) return false;
  const int ready = ::poll(fds, n, static_cast<int>(timeout.count()));
  if (ready <= 0) return true;
  for (nfds_t i = 0; i < n; ++i) {
    if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    char buffer[65536];
    const ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
    const bool is_out = fds[i].fd == out_fd_;
    if (got > 0) {
      (is_out ? result_.out : result_.err).append(buffer, static_cast<std::size_t>(got));
    } else if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
      ::close(fds[i].fd);
      (is_out ? out_fd_ : err_fd_) = -1;
    }
  }
  return out_fd_ >= 0 || err_fd_ >= 0;
}

bool CliProcess::wait_for_output(const std::string& text, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (result_.out.find(text) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (!pump(std::min(left, std::chrono::milliseconds(200)))) {
      return result_.out.find(text) != std::string::npos;
    }
  }
  return true;
}

void CliProcess::signal(int signal_number) {
  ::kill(pid_, signal_number);
}

CliResult CliProcess::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out_fd_ >= 0 || err_fd_ >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid_, SIGKILL);
      break;
    }
    pump(std::min(left, std::chrono::milliseconds(200)));
  }
  int status = 0;
  ::waitpid(pid_, &status, 0);
  ended_ = true;
  result_.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result_;
}

CliFixture::CliFixture() : home_(dir_.path() / "home") {}

std::map<std::string, std::string> CliFixture::environment(
    const std::map<std::string, std::string>& extra) const {
  std::map<std::string, std::string> env{{"LANG", lang}, {"LIBRETA_TODAY", today}, {"TZ", "UTC"}};
  for (const auto& [name, value] : extra) env[name] = value;
  return env;
}

CliResult CliFixture::run(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env) {
  std::vector<std::string> full{"--home", home_.string()};
  full.insert(full.end(), args.begin(), args.end());
  CliProcess process(full, environment(env));
  CliResult result = process.wait(kRunTimeout);
  return result;
}

nlohmann::json CliFixture::json(const std::vector<std::string>& args, int expected_status,
                                const std::map<std::string, std::string>& env) {
  std::vector<std::string> full{"--json"};
  full.insert(full.end(), args.begin(), args.end());
  const CliResult result = run(full, env);
  INFO("stdout: " << result.out << "\nstderr: " << result.err);
  REQUIRE(result.status == expected_status);
  auto parsed = nlohmann::json::parse(result.out, nullptr, false);
  REQUIRE_FALSE(parsed.is_discarded());
  return parsed;
}

std::unique_ptr<CliProcess> CliFixture::start(const std::vector<std::string>& args,
                                              const std::map<std::string, std::string>& env) {
  std::vector<std::string> full{"--home", home_.string()};
  full.insert(full.end(), args.begin(), args.end());
  return std::make_unique<CliProcess>(full, environment(env));
}

std::filesystem::path CliFixture::write_file(const std::string& name, const std::string& bytes) {
  const auto path = dir_.file(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

std::string CliFixture::read_file(const std::filesystem::path& path) const {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

}  // namespace libreta::test
