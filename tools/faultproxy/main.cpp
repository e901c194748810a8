// libreta-faultproxy: a TCP proxy that injects network faults between sync clients and
// libreta-server, by command or at random from a seed.
//
//   libreta-faultproxy --upstream 127.0.0.1:8080 [--listen 127.0.0.1:0] [--seed N]
//                      [--chaos-every MS]
//
// It prints "listening HOST:PORT" once it accepts, then reads one command per line on stdin
// (see kHelp) and answers each with one line. With --chaos-every it also injects a random
// fault that often, drawn from --seed, and prints each one.
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <boost/system/system_error.hpp>

#include "libreta/faultproxy/fault_proxy.hpp"

using namespace libreta::faultproxy;

namespace {

constexpr const char* kHelp =
    "commands: delay MS | cut N | cut-all | cut-mid N | black-hole N | refuse on|off | "
    "refuse-for MS | heal | random | stats | help | quit";

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};

std::optional<HostPort> parse_host_port(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  unsigned port = 0;
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(first, last, port);
  if (ec != std::errc() || end != last || port > 65535) return std::nullopt;
  return HostPort{text.substr(0, colon), static_cast<std::uint16_t>(port)};
}

std::string describe(const FaultProxyStats& s, std::size_t open) {
  std::ostringstream out;
  out << "open=" << open << " connections=" << s.connections << " upstream_down=" << s.upstream_down
      << " refused=" << s.refused << " cuts=" << s.cuts << " mid_chunk_cuts=" << s.mid_chunk_cuts
      << " black_holes=" << s.black_holes << " delayed_chunks=" << s.delayed_chunks
      << " bytes_forwarded=" << s.bytes_forwarded;
  return out.str();
}

// One command line; returns the answer, or nullopt for quit.
std::optional<std::string> run_command(FaultProxy& proxy, std::mt19937_64& random,
                                       std::mutex& random_mutex, const std::string& line) {
  std::istringstream words(line);
  std::string command;
  words >> command;
  long long number = 0;
  const bool has_number = static_cast<bool>(words >> number) && number >= 0;
  words.clear();
  if (command.empty()) return std::string();
  if (command == "quit") return std::nullopt;
  if (command == "help") return std::string(kHelp);
  if (command == "stats") return describe(proxy.stats(), proxy.open_connections());
  if (command == "heal") {
    proxy.heal();
    return std::string("ok healed");
  }
  if (command == "cut-all") return "ok cut " + std::to_string(proxy.cut_all());
  if (command == "random") {
    std::lock_guard lock(random_mutex);
    return std::string("ok ") + fault_kind_name(proxy.random_fault(random));
  }
  if (command == "refuse") {
    std::string state;
    std::istringstream again(line);
    again >> command >> state;
    if (state != "on" && state != "off") return std::string("error: refuse on|off");
    proxy.set_refusing(state == "on");
    return "ok refuse " + state;
  }
  if (!has_number) return "error: " + command + " needs a number; " + kHelp;
  const auto n = static_cast<std::uint64_t>(number);
  if (command == "delay") {
    proxy.set_delay(std::chrono::milliseconds(n));
    return "ok delay " + std::to_string(n);
  }
  if (command == "refuse-for") {
    proxy.refuse_for(std::chrono::milliseconds(n));
    return "ok refuse-for " + std::to_string(n);
  }
  if (command == "cut") return proxy.cut(n) ? "ok cut" : "none open";
  if (command == "cut-mid") return proxy.cut_mid_chunk(n) ? "ok cut-mid armed" : "none open";
  if (command == "black-hole") return proxy.black_hole(n) ? "ok black-hole" : "none open";
  return "error: unknown command; " + std::string(kHelp);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"libreta-faultproxy: a TCP proxy that injects network faults."};
  app.name("libreta-faultproxy");
  std::string listen = "127.0.0.1:0";
  std::string upstream;
  std::uint64_t seed = 1;
  int chaos_every_ms = 0;
  app.add_option("--listen", listen, "Address and port to listen on")->capture_default_str();
  app.add_option("--upstream", upstream, "The server's address and port")->required();
  app.add_option("--seed", seed, "Seed of the random faults")->capture_default_str();
  app.add_option("--chaos-every", chaos_every_ms,
                 "Inject a random fault every this many milliseconds (0: only on command)")
      ->capture_default_str();
  app.footer(kHelp);
  CLI11_PARSE(app, argc, argv);

  const auto local = parse_host_port(listen);
  const auto remote = parse_host_port(upstream);
  if (!local || !remote) {
    std::cerr << "libreta-faultproxy: --listen and --upstream are HOST:PORT\n";
    return 2;
  }
  FaultProxyOptions options;
  options.listen_address = local->host;
  options.listen_port = local->port;
  options.upstream_address = remote->host;
  options.upstream_port = remote->port;
  options.seed = seed;
  FaultProxy proxy(options);
  try {
    proxy.start();
  } catch (const boost::system::system_error& e) {
    std::cerr << "libreta-faultproxy: cannot listen on " << listen << ": " << e.code().message()
              << "\n";
    return 5;
  }
  std::cout << "listening " << local->host << ":" << proxy.port() << std::endl;

  std::mt19937_64 random(seed);
  std::mutex random_mutex;
  std::mutex output_mutex;
  std::mutex chaos_mutex;
  std::condition_variable chaos_stop;
  bool stopping = false;
  std::thread chaos;
  if (chaos_every_ms > 0) {
    chaos = std::thread([&] {
      std::unique_lock lock(chaos_mutex);
      while (!chaos_stop.wait_for(lock, std::chrono::milliseconds(chaos_every_ms),
                                  [&] { return stopping; })) {
        FaultKind kind;
        {
          std::lock_guard random_lock(random_mutex);
          kind = proxy.random_fault(random);
        }
        std::lock_guard output_lock(output_mutex);
        std::cout << "fault " << fault_kind_name(kind) << std::endl;
      }
    });
  }

  std::string line;
  while (std::getline(std::cin, line)) {
    const auto answer = run_command(proxy, random, random_mutex, line);
    if (!answer) break;
    std::lock_guard output_lock(output_mutex);
    std::cout << *answer << std::endl;
  }
  {
    std::lock_guard lock(chaos_mutex);
    stopping = true;
  }
  chaos_stop.notify_all();
  if (chaos.joinable()) chaos.join();
  proxy.stop();
  return 0;
}
