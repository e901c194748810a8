// A replica in a temporary directory with its own fake clock, for tests that play several
// devices by hand: what they write is taken out of the outbox as a sync would.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "libreta/client/replica.hpp"
#include "support/temp_dir.hpp"

namespace libreta::client::testing {

inline constexpr std::uint64_t kStart = 1'700'000'000'000;

struct Node {
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>(kStart);
  std::unique_ptr<Replica> replica;
  Node(const test::TempDir& dir, const std::string& id) {
    ReplicaOptions options;
    options.clock = clock;
    options.new_replica_id = id;
    replica = Replica::open(dir.file(id + ".db"), options);
  }
  // Takes the local changes out of the outbox, as a sync would after the server's ack.
  std::vector<Change> drain() {
    std::vector<Change> out;
    auto entries = replica->pending_changes();
    for (auto& entry : entries) out.push_back(entry.change);
    if (!entries.empty()) replica->acknowledge(entries.back().seq);
    return out;
  }
};

}  // namespace libreta::client::testing
