// libreta-fault-worker: one device of the randomized fault test (fault_run.hpp). It opens
// its replica file, syncs it in the background with a SyncSession, and does random seller
// operations on a shared set of customers, logging every field it wrote to its side log
// (write_log.hpp). The driver talks to it on stdin/stdout, one line each way:
//
//   (start)                 -> "ready <replica id>"
//   pause                   -> "paused <operations done>"     stops doing operations
//   await-pushed MS         -> "pushed" | "timeout <status>"  connected, nothing pending
//   await-cursor SEQ MS     -> "converged" | "timeout <status>"  in sync at SEQ or later
//   exit                    -> "bye", then exits 0
//
// The driver may SIGKILL it at any moment; it is then started again on the same files.
// Unexpected errors are printed on stderr and end the process with status 3.
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fault/write_log.hpp"
#include "libreta/client/replica.hpp"
#include "libreta/client/sync_session.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/value_json.hpp"
#include "libreta/sqlite/sqlite.hpp"

using namespace libreta;
using namespace libreta::client;

namespace {

struct WorkerArgs {
  std::string replica_file;
  std::string replica_id;
  std::string url;
  std::string token;
  std::string write_log;
  std::uint64_t seed = 1;
  std::vector<std::string> customers;
};

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, separator)) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

WorkerArgs parse_args(int argc, char** argv) {
  WorkerArgs args;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const std::string value = argv[i + 1];
    if (name == "--replica")
      args.replica_file = value;
    else if (name == "--replica-id")
      args.replica_id = value;
    else if (name == "--url")
      args.url = value;
    else if (name == "--token")
      args.token = value;
    else if (name == "--write-log")
      args.write_log = value;
    else if (name == "--seed")
      args.seed = std::stoull(value);
    else if (name == "--customers")
      args.customers = split(value, ',');
    else
      throw std::runtime_error("unknown option " + name);
  }
  if (args.replica_file.empty() || args.url.empty() || args.token.empty() ||
      args.write_log.empty() || args.customers.empty()) {
    throw std::runtime_error(
        "usage: libreta-fault-worker --replica FILE --replica-id ID --url URL --token T "
        "--write-log FILE --seed N --customers ID,ID,...");
  }
  return args;
}

std::string describe(const SyncStatus& s) {
  std::string text =
      "connected=" + std::to_string(s.connected) + " caught_up=" + std::to_string(s.caught_up) +
      " pending=" + std::to_string(s.pending_changes) + " cursor=" + std::to_string(s.cursor) +
      " reconnects=" + std::to_string(s.reconnects);
  if (s.last_error) {
    text += " last_error=" + std::string(error_code_name(s.last_error->code)) + ":" +
            s.last_error->message;
  }
  return text;
}

// Seller operations chosen at random, each one local write, logged after it commits.
class Operations {
 public:
  Operations(Replica& replica, const WorkerArgs& args, fault::WriteLog& log)
      : replica_(replica),
        args_(args),
        log_(log),
        random_(args.seed),
        outbox_(args.replica_file, false) {
    outbox_.exec("PRAGMA query_only = ON");
  }

  // One random operation; false when it found nothing to do (a missing row, a race with a
  // change arriving from the server).
  bool run_one() {
    ++serial_;
    const std::string& customer = args_.customers[pick(args_.customers.size())];
    const int roll = static_cast<int>(pick(100));
    try {
      if (roll < 10) return create_customer(customer);
      if (roll < 45) return edit_customer(customer);
      if (roll < 50) return delete_customer(customer);
      if (roll < 62) return add_tag(customer);
      if (roll < 70) return remove_tag(customer);
      if (roll < 82) return log_interaction(customer);
      if (roll < 92) return log_purchase(customer);
      return edit_activity(customer);
    } catch (const Error& e) {
      // A row deleted or created by a change that just arrived: the seller would see it too.
      if (e.code() == ErrorCode::not_found || e.code() == ErrorCode::already_exists) return false;
      throw;
    }
  }

 private:
  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(random_);
  }

  // Unique per worker and operation: an edit never repeats a value, so a lost one shows.
  std::string unique(const std::string& what) const {
    return what + " " + replica_.replica_id() + "#" + std::to_string(args_.seed) + "." +
           std::to_string(serial_);
  }

  bool create_customer(const std::string& id) {
    if (replica_.get(tables::customers, id)) return false;
    Customer c;
    c.id = id;
    c.name = unique("Cliente");
    c.city = unique("Ciudad");
    c.status = pick(2) == 0 ? "prospect" : "active";
    c.tags = {pick(2) == 0 ? "feria" : "norte"};
    replica_.create(c);
    log_committed(tables::customers, id, {});
    return true;
  }

  bool edit_customer(const std::string& id) {
    if (!replica_.get(tables::customers, id)) return false;
    Record fields;
    const char* text_fields[] = {"name", "city", "phone", "notes", "email", "trade_name"};
    const std::size_t count = 1 + pick(3);
    std::vector<std::string> unique_fields;
    for (std::size_t i = 0; i < count; ++i) {
      const std::string field = text_fields[pick(std::size(text_fields))];
      std::string value = unique(field);
      if (field == "email") {
        value = "w" + std::to_string(args_.seed) + "." + std::to_string(serial_) + "@example.com";
      } else if (field == "phone") {
        // Digits only: the seed (unique per device and run) and the operation's number.
        value = "+" + std::to_string(args_.seed % 1'000'000'000) + " " + std::to_string(serial_);
      }
      fields[field] = Value(std::move(value));
      unique_fields.push_back(field);
    }
    if (pick(4) == 0) {
      const char* statuses[] = {"prospect", "active", "occasional", "inactive", "lost"};
      fields["status"] = Value(std::string(statuses[pick(std::size(statuses))]));
    }
    if (replica_.update(tables::customers, id, fields) == 0) return false;
    log_committed(tables::customers, id, fields_as_keys(fields, unique_fields));
    return true;
  }

  bool delete_customer(const std::string& id) {
    if (!replica_.get(tables::customers, id)) return false;
    replica_.remove(tables::customers, id);
    log_committed(tables::customers, id, {});
    return true;
  }

  bool add_tag(const std::string& id) {
    const char* tags[] = {"vip", "moroso", "norte", "sur", "feria"};
    const std::string tag = tags[pick(std::size(tags))];
    if (!replica_.add_tag(tables::customers, id, "tags", tag)) return false;
    log_committed(tables::customers, id, {{"tags+" + tag, Value(true)}});
    return true;
  }

  bool remove_tag(const std::string& id) {
    auto row = replica_.get(tables::customers, id);
    if (!row) return false;
    auto tags = row->find("tags");
    if (tags == row->end() || !tags->second.is_tags() || tags->second.as_tags().empty()) {
      return false;
    }
    const std::string tag = tags->second.as_tags()[pick(tags->second.as_tags().size())];
    if (!replica_.remove_tag(tables::customers, id, "tags", tag)) return false;
    log_committed(tables::customers, id, {{"tags-" + tag, Value(false)}});
    return true;
  }

  bool log_interaction(const std::string& customer) {
    if (!replica_.get(tables::customers, customer)) return false;
    Interaction i;
    i.customer_id = customer;
    const char* types[] = {"visit", "call", "email", "quote", "order", "complaint"};
    i.type = types[pick(std::size(types))];
    i.date = "2024-05-" + two_digits(1 + pick(28)) + "T10:00:00Z";
    i.outcome = pick(2) == 0 ? "positive" : "lost";
    if (*i.outcome == "lost") {
      i.lost_reason = unique("precio");
      i.revisit_on = "2024-09-01";
    }
    i.notes = unique("nota");
    const std::string id = replica_.create(i);
    log_committed(tables::interactions, id, {});
    return true;
  }

  bool log_purchase(const std::string& customer) {
    if (!replica_.get(tables::customers, customer)) return false;
    Purchase p;
    p.customer_id = customer;
    p.date = "2024-04-" + two_digits(1 + pick(28));
    p.product = unique("Producto");
    p.quantity = static_cast<double>(1 + pick(20));
    p.amount = static_cast<double>(10 + pick(5000)) / 4.0;
    const std::string id = replica_.create(p);
    log_committed(tables::purchases, id, {});
    return true;
  }

  // Edits an interaction or purchase of the customer, whoever logged it.
  bool edit_activity(const std::string& customer) {
    if (pick(2) == 0) {
      auto interactions = replica_.interactions_of(customer);
      if (interactions.empty()) return false;
      const std::string id = interactions[pick(interactions.size())].id;
      Record fields{{"notes", Value(unique("nota editada"))}};
      if (replica_.update(tables::interactions, id, fields) == 0) return false;
      log_committed(tables::interactions, id, fields_as_keys(fields, {"notes"}));
      return true;
    }
    auto purchases = replica_.purchases_of(customer);
    if (purchases.empty()) return false;
    const std::string id = purchases[pick(purchases.size())].id;
    Record fields{{"notes", Value(unique("nota de compra"))}};
    if (replica_.update(tables::purchases, id, fields) == 0) return false;
    log_committed(tables::purchases, id, fields_as_keys(fields, {"notes"}));
    return true;
  }

  static std::string two_digits(std::size_t n) { return (n < 10 ? "0" : "") + std::to_string(n); }

  // The fields of an update whose values are unique, as keys for the fallback log.
  static std::vector<std::pair<std::string, Value>> fields_as_keys(
      const Record& fields, const std::vector<std::string>& unique_fields) {
    std::vector<std::pair<std::string, Value>> keys;
    for (const auto& name : unique_fields) keys.emplace_back(name, fields.at(name));
    return keys;
  }

  // Logs what the write just committed: its entries in the change log, read back with
  // their version and base; if the sync session already had them acknowledged (they left
  // the log), the fields the operation wrote, with the version it got and no base.
  void log_committed(const std::string& table, const std::string& row,
                     const std::vector<std::pair<std::string, Value>> fallback) {
    const Version version{replica_.clock().last(), replica_.replica_id()};
    std::vector<fault::LoggedWrite> writes;
    auto stmt = outbox_.prepare(
        "SELECT field, element, value, base FROM _outbox WHERE version = ? AND tbl = ? AND "
        "row_id = ?");
    stmt.bind(1, version.to_string()).bind(2, table).bind(3, row);
    while (stmt.step()) {
      fault::LoggedWrite write;
      write.table = table;
      write.row = row;
      const std::string field = stmt.text(0);
      const std::string element = stmt.text(1);
      const auto value = nlohmann::json::parse(stmt.text_view(2), nullptr, false);
      auto decoded = value_from_json(value);
      write.value = decoded ? std::move(decoded).value() : Value();
      write.key =
          element.empty() ? field : field + (write.value == Value(true) ? "+" : "-") + element;
      write.version = version;
      const std::string base = stmt.text(3);
      write.base = base.empty() ? Version{} : Version::parse(base).value_or(Version{});
      writes.push_back(std::move(write));
    }
    if (writes.empty()) {
      for (const auto& [key, value] : fallback) {
        writes.push_back(fault::LoggedWrite{table, row, key, version, std::nullopt, value});
      }
    }
    log_.append(writes);
  }

  Replica& replica_;
  const WorkerArgs& args_;
  fault::WriteLog& log_;
  std::mt19937_64 random_;
  sqlite::Database outbox_;
  std::uint64_t serial_ = 0;
};

void say(const std::string& line) {
  std::cout << line << std::endl;
}

int run(const WorkerArgs& args) {
  ReplicaOptions replica_options;
  replica_options.new_replica_id = args.replica_id;
  auto replica = Replica::open(args.replica_file, replica_options);
  fault::WriteLog log(args.write_log);
  Operations operations(*replica, args, log);

  SyncOptions options;
  options.server_url = args.url;
  options.token = args.token;
  // Short timeouts so that black holes and dead servers are noticed within a test's run.
  options.initial_backoff = std::chrono::milliseconds(50);
  options.max_backoff = std::chrono::milliseconds(1000);
  options.connect_timeout = std::chrono::milliseconds(3000);
  options.idle_timeout = std::chrono::milliseconds(3000);
  options.outbox_check = std::chrono::milliseconds(100);
  SyncSession session(args.replica_file, options);
  session.start();
  say("ready " + replica->replica_id());

  std::mt19937_64 pace(args.seed ^ 0x9e3779b97f4a7c15ULL);
  bool operating = true;
  std::uint64_t done = 0;
  std::string pending_input;
  for (;;) {
    const int wait_ms =
        operating ? static_cast<int>(std::uniform_int_distribution<int>(5, 40)(pace)) : -1;
    pollfd input{STDIN_FILENO, POLLIN, 0};
    const int ready = ::poll(&input, 1, wait_ms);
    if (ready > 0) {
      char chunk[1024];
      const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
      if (n <= 0) return 0;  // the driver is gone
      pending_input.append(chunk, static_cast<std::size_t>(n));
      std::size_t end;
      while ((end = pending_input.find('\n')) != std::string::npos) {
        std::istringstream command(pending_input.substr(0, end));
        pending_input.erase(0, end + 1);
        std::string name;
        command >> name;
        if (name == "pause") {
          operating = false;
          say("paused " + std::to_string(done));
        } else if (name == "await-pushed") {
          long long ms = 0;
          command >> ms;
          // The session's count of pending changes trails the file's by one outbox check:
          // trust it only once the change log in the file is empty too.
          const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
          bool ok = false;
          while (!ok && std::chrono::steady_clock::now() < deadline) {
            session.nudge();
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (!session.wait_until(
                    [](const SyncStatus& s) { return s.connected && s.pending_changes == 0; },
                    left)) {
              break;
            }
            ok = replica->pending_count() == 0;
            if (!ok) {
              // Wait for the session to see what the file holds, then for it to be pushed.
              session.wait_until([](const SyncStatus& s) { return s.pending_changes > 0; },
                                 std::chrono::duration_cast<std::chrono::milliseconds>(
                                     deadline - std::chrono::steady_clock::now()));
            }
          }
          say(ok ? "pushed" : "timeout " + describe(session.status()));
        } else if (name == "await-cursor") {
          std::uint64_t seq = 0;
          long long ms = 0;
          command >> seq >> ms;
          const bool ok = session.wait_until(
              [seq](const SyncStatus& s) { return is_synced(s) && s.cursor >= seq; },
              std::chrono::milliseconds(ms));
          say(ok ? "converged" : "timeout " + describe(session.status()));
        } else if (name == "exit") {
          session.stop();
          replica.reset();
          say("bye");
          return 0;
        } else {
          std::cerr << "unknown command: " << name << std::endl;
          return 3;
        }
      }
    } else if (ready == 0 && operating) {
      if (operations.run_one()) {
        ++done;
        session.nudge();
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  try {
    return run(parse_args(argc, argv));
  } catch (const std::exception& e) {
    std::cerr << "libreta-fault-worker: " << e.what() << std::endl;
    return 3;
  }
}
