#include "token_admission.hpp"

#include <algorithm>

namespace libreta::server {

TokenAdmission::TokenAdmission(const SyncServiceOptions& options)
    : max_queued_changes_(options.max_queued_changes_per_token),
      max_changes_per_second_(options.max_changes_per_second_per_token),
      change_burst_(options.change_burst_per_token),
      max_bytes_per_second_(options.max_bytes_per_second_per_token),
      byte_burst_(options.byte_burst_per_token) {}

void TokenAdmission::refill(Usage& used, std::chrono::steady_clock::time_point now) const {
  const double change_burst = static_cast<double>(change_burst_);
  const double byte_burst = static_cast<double>(byte_burst_);
  if (!used.started) {
    used.started = true;
    used.change_allowance = change_burst;
    used.byte_allowance = byte_burst;
  } else {
    const double elapsed = std::chrono::duration<double>(now - used.refilled).count();
    used.change_allowance =
        std::min(change_burst,
                 used.change_allowance + elapsed * static_cast<double>(max_changes_per_second_));
    used.byte_allowance = std::min(
        byte_burst, used.byte_allowance + elapsed * static_cast<double>(max_bytes_per_second_));
  }
  used.refilled = now;
}

std::optional<std::string> TokenAdmission::admit(const std::string& token_id, std::size_t bytes,
                                                 std::size_t changes) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  Usage& used = usage_[token_id];
  refill(used, now);
  if (static_cast<double>(bytes) > used.byte_allowance) {
    return "this user's devices sent more than " + std::to_string(max_bytes_per_second_) +
           " bytes a second";
  }
  if (changes > 0) {
    if (used.queued_changes + changes > max_queued_changes_) {
      return "this user's devices have " + std::to_string(used.queued_changes) +
             " changes waiting to be stored";
    }
    if (static_cast<double>(changes) > used.change_allowance) {
      return "this user's devices sent more than " + std::to_string(max_changes_per_second_) +
             " changes a second";
    }
    used.change_allowance -= static_cast<double>(changes);
    used.queued_changes += changes;
  }
  used.byte_allowance -= static_cast<double>(bytes);
  return std::nullopt;
}

void TokenAdmission::done_queued(const std::string& token_id, std::size_t changes) {
  if (changes == 0) return;
  std::lock_guard lock(mutex_);
  auto it = usage_.find(token_id);
  if (it != usage_.end()) it->second.queued_changes -= std::min(changes, it->second.queued_changes);
}

}  // namespace libreta::server
