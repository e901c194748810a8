#include "fault/hostile_client.hpp"

#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "libreta/protocol/compression.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/messages.hpp"
#include "libreta/protocol/schema.hpp"
#include "support/ws_client.hpp"

namespace libreta::fault {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The server's defaults (docs/security.md, "Limits"): a message after hello, text or
// decompressed, and a frame before hello.
constexpr std::size_t kMessageLimit = 8u << 20;
constexpr std::size_t kHelloFrameLimit = 16u << 10;
constexpr std::size_t kPushLimit = 10'000;
constexpr std::uint64_t kYear2100Millis = 4'102'444'800'000;
constexpr std::uint64_t kSkewMillis = 10 * 60 * 1000;
// Long enough for an ack behind a group commit of other tokens' floods on a loaded machine;
// short enough that a server killed meanwhile does not stall the attacks for long.
constexpr milliseconds kAnswerWait{4000};
constexpr milliseconds kSendWait{3000};
// Rows of its own the client writes: a fixed pool, so that its floods change rows rather
// than add them, and the honest devices (managers, who read everything) download a bounded
// number of them.
constexpr int kOwnRows = 64;
const char* const kTextFields[] = {"name", "city", "notes", "trade_name", "region"};

std::uint64_t unix_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

bool is_zstd_frame(const std::string& bytes) {
  return bytes.size() >= 4 && static_cast<unsigned char>(bytes[0]) == 0x28 &&
         static_cast<unsigned char>(bytes[1]) == 0xb5 &&
         static_cast<unsigned char>(bytes[2]) == 0x2f &&
         static_cast<unsigned char>(bytes[3]) == 0xfd;
}

// A change the server must refuse, and why the client expects it to.
struct Expectation {
  std::uint64_t seq = 0;
  std::string why;
};

class Attacker {
 public:
  Attacker(const HostileOptions& options, HostileReport& report, const std::atomic<bool>& stopping)
      : options_(options),
        report_(report),
        stopping_(stopping),
        random_(options.seed ^ 0x68'6f'73'74'69'6c'65ULL) {}

  // One attack drawn from the seed; returns the pause before the next.
  milliseconds step() {
    const int dice = roll(0, 99);
    if (dice < 10) {
      forged_hello();
    } else if (dice < 13) {
      odd_hello();
    } else if (dice < 22) {
      back_dated_push();
    } else if (dice < 30) {
      future_push();
    } else if (dice < 37) {
      other_replica_push();
    } else if (dice < 41) {
      huge_sequence_push();
    } else if (dice < 48) {
      outside_scope_push();
    } else if (dice < 54) {
      unknown_fields_push();
    } else if (dice < 60) {
      tag_flood();
    } else if (dice < 63) {
      nested_before_hello();
    } else if (dice < 67) {
      nested_after_hello();
    } else if (dice < 71) {
      compressed_nested();
    } else if (dice < 74) {
      frame_over_limit();
    } else if (dice < 78) {
      unfinished_frame();
    } else if (dice < 85) {
      push_flood();
    } else if (dice < 89) {
      message_burst();
    } else if (dice < 95) {
      own_edits();
    } else {
      unknown_members();
    }
    return milliseconds(roll(10, 80));
  }

  // Waits until the server has committed or refused every push the client sent, so that
  // the run's last sequence, read next, covers them: a token's pushes reach the writer in
  // order, so an empty push's ack comes after that token's earlier ones.
  void settle(Clock::time_point deadline) {
    drop();
    for (const bool seller : {true, false}) {
      bool settled = false;
      while (!settled && Clock::now() < deadline) {
        auto ws = connect();
        if (!ws) continue;
        const std::string replica =
            std::string(seller ? kHostileSellerReplicaPrefix : "hm") + "-settle";
        Hello hello{kProtocolVersion, kCustomerBookSchemaVersion, replica, token(seller)};
        if (!ws->send_text(encode_message(Message(hello)), kSendWait)) continue;
        auto welcome = receive(*ws, kAnswerWait);
        if (!welcome || !std::holds_alternative<Welcome>(*welcome)) continue;
        if (!ws->send_text(encode_message(Message(Push{})), kSendWait)) continue;
        while (auto reply = receive(*ws, std::chrono::seconds(10))) {
          if (std::holds_alternative<Ack>(*reply)) {
            settled = true;
            break;
          }
        }
      }
      if (!settled) {
        fail(std::string("the server did not answer the ") + (seller ? "seller" : "manager") +
             "'s last push in time");
      }
    }
  }

 private:
  // ---- Connections ----

  int roll(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }
  std::uint64_t roll64(std::uint64_t low, std::uint64_t high) {
    return std::uniform_int_distribution<std::uint64_t>(low, high)(random_);
  }
  bool coin() { return roll(0, 1) == 0; }

  void count(const std::string& attack) { ++report_.attacks[attack]; }

  void fail(std::string what) {
    if (report_.failures.size() < 50) report_.failures.push_back(std::move(what));
  }

  // A new upgraded connection to the server, or nullptr when it cannot be reached (killed,
  // restarting): the client waits a little and the next step tries again.
  std::unique_ptr<test::WsClient> connect() {
    auto ws = std::make_unique<test::WsClient>();
    try {
      ws->connect(options_.url, kSendWait);
    } catch (const std::exception&) {
      ++report_.connect_failures;
      std::this_thread::sleep_for(milliseconds(roll(20, 200)));
      return nullptr;
    }
    ++report_.connections;
    return ws;
  }

  void drop() {
    if (ws_ && ws_->closed()) ++report_.closed_by_server;
    ws_.reset();
    welcomed_ = false;
  }

  const std::string& token(bool seller) const {
    return seller ? options_.seller_token : options_.manager_token;
  }

  // The next message the server sent, decoded; nullopt after `wait` or once it closed.
  std::optional<Message> receive(test::WsClient& ws, milliseconds wait) {
    auto frame = ws.receive(wait);
    if (!frame) return std::nullopt;
    std::string text = std::move(*frame);
    if (is_zstd_frame(text)) {
      auto inflated = decompress_message(text, 64u << 20);
      if (!inflated) {
        fail("the server sent a compressed frame the client cannot read: " +
             std::string(inflated.error().what()));
        return std::nullopt;
      }
      text = std::move(inflated).value();
    }
    auto decoded = decode_message(text);
    if (!decoded) {
      fail("the server sent a message the client cannot decode: " +
           std::string(decoded.error().what()));
      return std::nullopt;
    }
    if (const auto* error = std::get_if<ProtocolError>(&decoded.value())) {
      ++report_
            .answers[std::string(error_code_name(error->code)) + (error->fatal ? " (fatal)" : "")];
    }
    return std::move(decoded).value();
  }

  // The first answer that is not a live update (the client never pulls, so none should
  // come), within `wait`.
  std::optional<Message> answer(test::WsClient& ws, milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    // In slices, so that the end of the chaos phase does not wait for a late answer.
    while (Clock::now() < deadline && !stopping_) {
      const auto slice = std::min<milliseconds>(
          milliseconds(100),
          std::chrono::duration_cast<milliseconds>(deadline - Clock::now()) + milliseconds(1));
      auto message = receive(ws, slice);
      if (!message && (ws.closed() || Clock::now() >= deadline)) return std::nullopt;
      if (!message) continue;
      if (std::holds_alternative<Rows>(*message) || std::holds_alternative<Conflicts>(*message))
        continue;
      return message;
    }
    return std::nullopt;
  }

  // A connection that said hello with one of the client's own replica ids and was welcomed;
  // nullptr when the server cannot be reached or refused.
  test::WsClient* session() {
    if (ws_ && welcomed_ && !ws_->closed() &&
        next_seq_[replica_] <= kMaxWireSequence - 2 * kPushLimit)
      return ws_.get();
    if (welcomed_ && next_seq_[replica_] > kMaxWireSequence - 2 * kPushLimit) {
      // Its sequences are spent: the next connections use ids not used yet.
      ++generation_[seller_];
    }
    drop();
    seller_ = coin();
    // A few ids per token, so that their acknowledged sequences carry over between
    // connections; now and then one never used, claimed by this hello.
    replica_ = (seller_ ? kHostileSellerReplicaPrefix : "hm") +
               std::to_string(options_.seed % 1000) + "-" +
               std::to_string(roll(0, 3) + generation_[seller_] * 4);
    if (roll(0, 19) == 0)
      replica_ = (seller_ ? "hsr" : "hmr") + std::to_string(roll64(0, 1'000'000'000));
    ws_ = connect();
    if (!ws_) return nullptr;
    Hello hello{kProtocolVersion, kCustomerBookSchemaVersion, replica_, token(seller_)};
    if (!ws_->send_text(encode_message(Message(hello)), kSendWait)) {
      drop();
      return nullptr;
    }
    auto reply = answer(*ws_, kAnswerWait);
    const auto* welcome = reply ? std::get_if<Welcome>(&*reply) : nullptr;
    if (!welcome) {
      drop();
      return nullptr;
    }
    welcomed_ = true;
    protocol_ = welcome->protocol;
    auto& next = next_seq_[replica_];
    next = std::max(next, welcome->acked + 1);
    if (next > kMaxWireSequence - 2 * kPushLimit) {
      ++generation_[seller_];
      drop();
      return nullptr;
    }
    return ws_.get();
  }

  Version version_at(std::uint64_t millis) {
    return Version{Hlc::from_parts(millis, static_cast<std::uint64_t>(++counter_ & 0xffff)),
                   replica_};
  }
  Version now_version() { return version_at(unix_ms()); }

  std::string own_row() {
    return (seller_ ? "hs-" : "hm-") + std::to_string(options_.seed) + "-" +
           std::to_string(roll(0, kOwnRows - 1));
  }
  const std::string& honest_customer() {
    return options_.honest_customers[static_cast<std::size_t>(
        roll(0, static_cast<int>(options_.honest_customers.size()) - 1))];
  }
  const std::string& honest_replica() {
    return options_.honest_replicas[static_cast<std::size_t>(
        roll(0, static_cast<int>(options_.honest_replicas.size()) - 1))];
  }
  std::string value_text(const std::string& what) {
    return what + " hostil " + std::to_string(roll64(0, 1'000'000'000));
  }
  Change text_change(const std::string& row, Version version, Version base = {}) {
    return Change{tables::customers,
                  row,
                  kTextFields[roll(0, std::size(kTextFields) - 1)],
                  "",
                  Value(value_text("texto")),
                  std::move(version),
                  std::move(base)};
  }

  // The push's text, compressed as a device of protocol 2 would at random.
  bool send_push(test::WsClient& ws, const Push& push) {
    const std::string text = encode_message(Message(push));
    report_.changes_sent += push.changes.size();
    if (protocol_ >= kCompressedFramesProtocol && coin()) {
      if (auto compressed = compress_message(text, kDeviceCompressionLevel))
        return ws.send_binary(*compressed, kSendWait);
    }
    return ws.send_text(text, kSendWait);
  }

  // Numbers the changes, pushes them and reads the answer: each change listed in `refuse`
  // (by index) must come back refused in the ack.
  void push_and_check(std::vector<Change> changes, const std::vector<Expectation>& refuse,
                      std::uint64_t first_seq = 0) {
    test::WsClient* ws = session();
    if (!ws) return;
    auto& next = next_seq_[replica_];
    if (first_seq > next) next = first_seq;
    Push push;
    const std::uint64_t first = next;
    for (auto& change : changes) {
      change.version.replica = change.version.replica.empty() ? replica_ : change.version.replica;
      push.changes.push_back({next++, std::move(change)});
    }
    if (!send_push(*ws, push)) return drop();
    std::map<std::uint64_t, std::string> expected;
    for (const auto& e : refuse) expected[first + e.seq] = e.why;
    // An ack below this push answers an earlier one (of a flood the client stopped waiting
    // for): skipped.
    const Ack* ack = nullptr;
    std::optional<Message> reply;
    while (!ack) {
      reply = answer(*ws, kAnswerWait);
      if (!reply) return drop();  // the server went away, or the ack is late: a new connection
      // rate_limited, too_large: counted, nothing applied; the next push starts afresh.
      if (!std::holds_alternative<Ack>(*reply)) return drop();
      ack = &std::get<Ack>(*reply);
      if (ack->upto < first) ack = nullptr;
    }
    for (const auto& refused : ack->refused) {
      ++report_.changes_refused;
      ++report_.answers["refused " + std::string(error_code_name(refused.code))];
      expected.erase(refused.seq);
    }
    if (ack->upto < push.changes.back().seq) {
      fail("an ack up to " + std::to_string(ack->upto) + " for a push up to " +
           std::to_string(push.changes.back().seq) + " of " + replica_);
      return;
    }
    for (const auto& [seq, why] : expected) {
      const Change& change = push.changes[seq - first].change;
      fail("accepted " + why + ": " + (seller_ ? "seller " : "manager ") + replica_ + " s=" +
           std::to_string(seq) + " " + change.table + "/" + change.row + "/" + change.field +
           " ver=" + change.version.to_string() + " base=" + change.base.to_string());
    }
  }

  // ---- Attacks ----

  // Hello with an honest device's id: as a first hello (refused, forbidden, fatal) or as
  // a second hello on a welcomed connection (out_of_order: the session stays its own).
  void forged_hello() {
    count("forged_hello");
    ++report_.forged_hellos;
    const std::string& id = honest_replica();
    test::WsClient* ws = nullptr;
    bool second = roll(0, 2) == 0;
    if (second) ws = session();
    std::unique_ptr<test::WsClient> fresh;
    bool seller = coin();
    if (!ws) {
      second = false;
      fresh = connect();
      if (!fresh) {
        ++report_.forged_unanswered;
        return;
      }
      ws = fresh.get();
    } else {
      seller = seller_;
    }
    Hello hello{kProtocolVersion, kCustomerBookSchemaVersion, id, token(seller)};
    if (!ws->send_text(encode_message(Message(hello)), kSendWait)) {
      ++report_.forged_unanswered;
      return second ? drop() : void();
    }
    auto reply = answer(*ws, kAnswerWait);
    if (!reply) {
      ++report_.forged_unanswered;
      return second ? drop() : void();
    }
    if (std::holds_alternative<Welcome>(*reply)) {
      fail("a hello with " + id + ", an honest device's id, was welcomed for " +
           (seller ? options_.seller_user : options_.manager_user));
      return;
    }
    const auto* error = std::get_if<ProtocolError>(&*reply);
    const bool refused = error && (second ? error->code == ErrorCode::out_of_order && !error->fatal
                                          : error->code == ErrorCode::forbidden && error->fatal);
    if (refused) {
      ++report_.forged_refused;
    } else {
      fail("a hello with " + id + " was answered with " +
           std::string(error ? error_code_name(error->code) : message_type(*reply)));
    }
    if (!second && fresh->wait_closed(kAnswerWait) == false)
      fail("the connection of a refused hello stayed open");
  }

  // Hellos the server must refuse whatever the id's owner: the server's own id, ids that
  // are not ids, a token nobody has, protocols and schemas it cannot speak.
  void odd_hello() {
    count("odd_hello");
    auto ws = connect();
    if (!ws) return;
    Hello hello{kProtocolVersion, kCustomerBookSchemaVersion, "server", token(coin())};
    switch (roll(0, 4)) {
      case 0:
        break;
      case 1:
        hello.replica = std::string(roll(33, 900), 'a');
        break;
      case 2:
        hello.token = "lbt_" + std::string(40, 'x');
        break;
      case 3:
        hello.protocol = 0;
        break;
      default:
        hello.schema = kCustomerBookSchemaVersion + 1;
        break;
    }
    if (!ws->send_text(encode_message(Message(hello)), kSendWait)) return;
    auto reply = answer(*ws, kAnswerWait);
    if (reply && std::holds_alternative<Welcome>(*reply))
      fail("an impossible hello was welcomed: replica \"" + hello.replica.substr(0, 40) +
           "\" protocol " + std::to_string(hello.protocol) + " schema " +
           std::to_string(hello.schema));
  }

  // Versions from 1970 or from a few milliseconds ago, on the client's own rows and (the
  // manager may write them) the honest devices' customers: they lose to what is newer,
  // and are stored where nothing newer is.
  void back_dated_push() {
    count("back_dated");
    if (!session()) return;
    std::vector<Change> changes;
    std::vector<Expectation> refuse;
    const int n = roll(1, 20);
    for (int i = 0; i < n; ++i) {
      const std::uint64_t millis = coin() ? 1 : unix_ms() - roll64(1, 50);
      const bool honest = roll(0, 3) == 0;
      changes.push_back(text_change(honest ? honest_customer() : own_row(), version_at(millis)));
      if (honest && seller_) refuse.push_back({changes.size() - 1, "outside the seller's scope"});
    }
    push_and_check(std::move(changes), refuse);
  }

  // Versions and bases beyond the skew limit (year 2100, or minutes ahead), and bases
  // newer than their change: every one refused.
  void future_push() {
    count("future");
    if (!session()) return;
    std::vector<Change> changes;
    std::vector<Expectation> refuse;
    const int n = roll(1, 20);
    for (int i = 0; i < n; ++i) {
      const std::string row = roll(0, 2) == 0 ? honest_customer() : own_row();
      const std::uint64_t ahead =
          coin() ? kYear2100Millis : unix_ms() + kSkewMillis + roll64(60'000, 3'600'000);
      switch (roll(0, 3)) {
        case 0:
          changes.push_back(text_change(row, version_at(ahead)));
          break;
        case 1:
          changes.push_back(text_change(row, now_version(), version_at(ahead)));
          break;
        case 2: {
          // A tag whose other key would be dated 2100: every device would refuse the row.
          Change change{tables::customers,        row,           "tags",
                        coin() ? "vip" : "feria", Value(coin()), now_version(),
                        version_at(ahead)};
          changes.push_back(std::move(change));
          break;
        }
        default: {
          const Version base = version_at(unix_ms() + roll64(1000, 60'000));
          changes.push_back(text_change(row, now_version(), base));
          break;
        }
      }
      refuse.push_back({changes.size() - 1, "a version or base beyond the clock skew limit"});
    }
    push_and_check(std::move(changes), refuse);
  }

  // Changes under an honest device's version (or the server's), so that they would look
  // like that device's: refused, forbidden.
  void other_replica_push() {
    count("other_replica");
    if (!session()) return;
    std::vector<Change> changes;
    std::vector<Expectation> refuse;
    const int n = roll(1, 20);
    for (int i = 0; i < n; ++i) {
      Version version = version_at(coin() ? unix_ms() + roll64(0, 60'000) : 1);
      version.replica = roll(0, 5) == 0 ? std::string("server") : honest_replica();
      changes.push_back(text_change(coin() ? honest_customer() : own_row(), version));
      refuse.push_back({changes.size() - 1, "a version naming another replica"});
    }
    push_and_check(std::move(changes), refuse);
  }

  // A sequence far ahead, up to 2^53 - 1: the client's own replica's acknowledged
  // sequence moves, no one else's.
  void huge_sequence_push() {
    count("huge_sequence");
    if (!session()) return;
    const std::uint64_t next = next_seq_[replica_];
    const std::uint64_t top = kMaxWireSequence - 40;
    const std::uint64_t seq = roll(0, 3) == 0 ? top : roll64(std::min(next, top), top);
    std::vector<Change> changes{text_change(own_row(), now_version())};
    push_and_check(std::move(changes), {}, seq);
  }

  // The seller writing the honest devices' customers (nobody's): the owner to itself, a
  // field, a tag, a delete; each refused, forbidden. The manager's own writes there are
  // legitimate and are left to back_dated_push.
  void outside_scope_push() {
    count("outside_scope");
    if (!session()) return;
    if (!seller_) return back_dated_push();
    std::vector<Change> changes;
    std::vector<Expectation> refuse;
    const int n = roll(1, 30);
    for (int i = 0; i < n; ++i) {
      const std::string& row = honest_customer();
      switch (roll(0, 3)) {
        case 0:
          changes.push_back(Change{
              tables::customers, row, "owner", "", Value(options_.seller_user), now_version(), {}});
          break;
        case 1:
          changes.push_back(
              Change{tables::customers, row, "tags", "vip", Value(true), now_version(), {}});
          break;
        case 2:
          changes.push_back(
              Change{tables::customers, row, "deleted", "", Value(true), now_version(), {}});
          break;
        default:
          changes.push_back(text_change(row, now_version()));
          break;
      }
      refuse.push_back({changes.size() - 1, "outside the seller's scope"});
    }
    push_and_check(std::move(changes), refuse);
  }

  // Fields the schema does not know, with values up to beyond a text's bound: kept within
  // 32 a row and 64 KiB, a value longer than a long text refused; the manager puts some on the
  // honest devices' customers, which every device must still download and apply.
  void unknown_fields_push() {
    count("unknown_fields");
    if (!session()) return;
    std::vector<Change> changes;
    std::vector<Expectation> refuse;
    const int n = roll(1, 8);
    for (int i = 0; i < n; ++i) {
      const bool honest = roll(0, 3) == 0;
      const std::string row = honest ? honest_customer() : own_row();
      const std::size_t size = roll(0, 4) == 0 ? roll64(70'000, 200'000) : roll64(1, 20'000);
      changes.push_back(Change{tables::customers,
                               row,
                               "x_hostil_" + std::to_string(roll(0, 40)),
                               "",
                               Value(std::string(size, 'z')),
                               now_version(),
                               {}});
      if (size > kMaxLongTextLength) {
        refuse.push_back({changes.size() - 1, "an unknown field beyond the row's bound"});
      } else if (honest && seller_) {
        refuse.push_back({changes.size() - 1, "outside the seller's scope"});
      }
    }
    push_and_check(std::move(changes), refuse);
  }

  // Hundreds of tags added and removed on one of its rows, beyond the row's 1,024 version
  // keys; the seller's on the honest devices' customers are refused.
  void tag_flood() {
    count("tag_flood");
    if (!session()) return;
    std::vector<Change> changes;
    std::vector<Expectation> refuse;
    const bool honest = seller_ && roll(0, 3) == 0;
    const std::string row = honest ? honest_customer() : own_row();
    const int n = roll(100, 2000);
    for (int i = 0; i < n; ++i) {
      changes.push_back(Change{tables::customers,
                               row,
                               "tags",
                               "t" + std::to_string(roll(0, 1500)),
                               Value(coin()),
                               now_version(),
                               {}});
      if (honest) refuse.push_back({changes.size() - 1, "outside the seller's scope"});
    }
    push_and_check(std::move(changes), refuse);
  }

  static std::string brackets(std::size_t size) { return std::string(size, '['); }

  // 8 MiB of "[" before hello: the server reads at most 16 KiB before hello and closes.
  void nested_before_hello() {
    count("nested_before_hello");
    auto ws = connect();
    if (!ws) return;
    const std::size_t size = coin() ? kMessageLimit : kHelloFrameLimit + 1;
    ws->send_text(brackets(size), kSendWait);
    if (auto reply = answer(*ws, kAnswerWait); reply && std::holds_alternative<Welcome>(*reply))
      fail("a nested frame before hello was welcomed");
    if (!ws->wait_closed(kAnswerWait)) fail("a frame of brackets before hello left it open");
    if (auto code = ws->close_code()) ++report_.answers["close " + std::to_string(*code)];
  }

  // Just under 8 MiB of "[" after hello: refused (too deep) before any tree is built, or
  // dropped by the token's byte rate; the session goes on.
  void nested_after_hello() {
    count("nested_after_hello");
    test::WsClient* ws = session();
    if (!ws) return;
    if (!ws->send_text(brackets(kMessageLimit - roll64(0, 64)), kSendWait)) return drop();
    expect_error_or_close(*ws, "nested text");
  }

  // The same compressed: a binary frame of a few hundred bytes that inflates to 8 MiB of
  // "[" (too deep), or declares one byte more than the limit (refused from its header),
  // or is not zstd at all.
  void compressed_nested() {
    count("compressed_nested");
    test::WsClient* ws = session();
    if (!ws) return;
    const int kind = roll(0, 2);
    std::string frame;
    if (kind == 2) {
      frame = "\x28\xb5\x2f\xfd" + std::string(roll(1, 4000), '\x7f');
    } else {
      auto& cached = compressed_[kind];
      if (cached.empty()) {
        cached = compress_message(brackets(kMessageLimit + static_cast<std::size_t>(kind)),
                                  kDeviceCompressionLevel)
                     .value_or("");
      }
      frame = cached;
    }
    if (!ws->send_binary(frame, kSendWait)) return drop();
    expect_error_or_close(*ws, "a compressed nested frame");
  }

  // One byte over the frame limit: the connection is closed (1009).
  void frame_over_limit() {
    count("frame_over_limit");
    test::WsClient* ws = session();
    if (!ws) return;
    ws->send_text(brackets(kMessageLimit + 1 + roll64(0, 16)), kSendWait);
    if (!ws->wait_closed(kAnswerWait)) fail("a frame over the limit left the connection open");
    if (auto code = ws->close_code()) ++report_.answers["close " + std::to_string(*code)];
    drop();
  }

  // A frame that declares up to 8 MiB, of which only the start comes, then the connection
  // drops: what the server held for it is freed.
  void unfinished_frame() {
    count("unfinished_frame");
    test::WsClient* ws = coin() ? session() : nullptr;
    std::unique_ptr<test::WsClient> fresh;
    if (!ws) {
      fresh = connect();
      if (!fresh) return;
      ws = fresh.get();
    }
    const std::size_t declared = roll64(1000, ws == ws_.get() ? kMessageLimit : kHelloFrameLimit);
    ws->send_unfinished_frame(declared, "{\"type\":\"push\",\"changes\":[", kSendWait);
    if (ws == ws_.get()) drop();
  }

  // Pushes of 10,000 changes to its own rows, several at once, beside a push of 10,001
  // (too_large): the token's changes waiting and its rate bound what is taken.
  void push_flood() {
    count("push_flood");
    test::WsClient* ws = session();
    if (!ws) return;
    const int pushes = roll(1, 4);
    auto& next = next_seq_[replica_];
    int answers_due = 0;
    for (int p = 0; p < pushes; ++p) {
      Push push;
      const std::size_t n = roll(0, 5) == 0 ? kPushLimit + 1 : kPushLimit;
      for (std::size_t i = 0; i < n; ++i)
        push.changes.push_back({next++, text_change(own_row(), now_version())});
      if (!send_push(*ws, push)) return drop();
      ++answers_due;
    }
    const auto deadline = Clock::now() + kAnswerWait * 3;
    while (answers_due > 0 && Clock::now() < deadline) {
      auto reply = answer(*ws, std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
      if (!reply) break;
      if (const auto* ack = std::get_if<Ack>(&*reply))
        report_.changes_refused += ack->refused.size();
      if (std::holds_alternative<Ack>(*reply) || std::holds_alternative<ProtocolError>(*reply))
        --answers_due;
    }
    if (answers_due > 0) drop();
  }

  // Hundreds of small messages at once: beyond 200 in a burst the server closes it.
  void message_burst() {
    count("message_burst");
    test::WsClient* ws = session();
    if (!ws) return;
    const int n = roll(50, 400);
    for (int i = 0; i < n; ++i) {
      const std::string text = roll(0, 3) == 0 ? encode_message(Message(ConflictsPull{}))
                                               : encode_message(Message(Push{}));
      if (!ws->send_text(text, kSendWait)) break;
    }
    // Read what came; a burst over the limit ends with the server closing the connection.
    while (answer(*ws, milliseconds(300))) {
    }
    drop();
  }

  // Edits of its own rows now and then, as a device would make: the rows exist, so its
  // other attacks on them meet real state.
  void own_edits() {
    count("own_edits");
    if (!session()) return;
    std::vector<Change> changes;
    const int n = roll(1, 50);
    for (int i = 0; i < n; ++i) changes.push_back(text_change(own_row(), now_version()));
    push_and_check(std::move(changes), {});
  }

  // Members no message has, with large values: unknown_field, nothing applied.
  void unknown_members() {
    count("unknown_members");
    test::WsClient* ws = session();
    if (!ws) return;
    const Version version = now_version();
    nlohmann::json change = {
        {"s", next_seq_[replica_]},  {"t", tables::customers},    {"r", own_row()}, {"f", "city"},
        {"v", value_text("ciudad")}, {"ver", version.to_string()}};
    nlohmann::json push = {{"type", "push"}, {"changes", nlohmann::json::array({change})}};
    const std::string big(roll64(1, 200'000), 'q');
    if (coin())
      push["zz_hostil"] = big;
    else
      push["changes"][0]["zz_hostil"] = big;
    if (!ws->send_text(push.dump(), kSendWait)) return drop();
    auto reply = answer(*ws, kAnswerWait);
    if (!reply) return drop();
    if (std::holds_alternative<Ack>(*reply)) fail("a push with an unknown member was applied");
  }

  // After a frame the server must refuse without closing (or close, for the byte rate):
  // an error, never an ack.
  void expect_error_or_close(test::WsClient& ws, const std::string& what) {
    auto reply = answer(ws, kAnswerWait);
    if (!reply) return drop();
    if (!std::holds_alternative<ProtocolError>(*reply))
      fail(what + " was answered with " + std::string(message_type(*reply)));
  }

  const HostileOptions& options_;
  HostileReport& report_;
  const std::atomic<bool>& stopping_;
  std::mt19937_64 random_;
  std::unique_ptr<test::WsClient> ws_;
  bool welcomed_ = false;
  bool seller_ = false;
  int protocol_ = 0;
  std::string replica_;
  std::map<std::string, std::uint64_t> next_seq_;
  std::map<bool, int> generation_;
  std::uint64_t counter_ = 0;
  std::map<int, std::string> compressed_;
};

}  // namespace

std::string HostileReport::summary() const {
  std::ostringstream out;
  out << "  hostile client: connections=" << connections << " closed_by_server=" << closed_by_server
      << " connect_failures=" << connect_failures << " changes_sent=" << changes_sent
      << " changes_refused=" << changes_refused << "\n";
  out << "    forged hellos: " << forged_hellos << " refused=" << forged_refused
      << " unanswered=" << forged_unanswered << "\n";
  out << "    attacks:";
  for (const auto& [kind, n] : attacks) out << " " << kind << "=" << n;
  out << "\n    answers:";
  for (const auto& [code, n] : answers) out << " [" << code << "]=" << n;
  out << "\n";
  return out.str();
}

HostileClient::HostileClient(HostileOptions options) : options_(std::move(options)) {}

HostileClient::~HostileClient() {
  stop();
}

void HostileClient::start() {
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

HostileReport HostileClient::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  return report_;
}

void HostileClient::run() {
  // A thread's entry: whatever escapes is a failure of the client, reported, not a crash.
  try {
    Attacker attacker(options_, report_, stopping_);
    while (!stopping_) {
      const auto pause = attacker.step();
      const auto until = Clock::now() + pause;
      while (!stopping_ && Clock::now() < until) std::this_thread::sleep_for(milliseconds(5));
    }
    attacker.settle(Clock::now() + std::chrono::seconds(30));
  } catch (const std::exception& e) {
    report_.failures.push_back(std::string("the hostile client stopped: ") + e.what());
  }
}

}  // namespace libreta::fault
