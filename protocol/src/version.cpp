#include "libreta/protocol/version.hpp"

#include "libreta/protocol/ids.hpp"

namespace libreta {

std::string Version::to_string() const {
  if (is_none()) return {};
  std::string text = hlc.to_string();
  text += ':';
  text += replica;
  return text;
}

std::optional<Version> Version::parse(std::string_view text) {
  if (text.empty()) return Version{};
  if (text.size() < 18 || text[16] != ':') return std::nullopt;
  auto hlc = Hlc::parse(text.substr(0, 16));
  const std::string_view replica = text.substr(17);
  if (!hlc || hlc->is_zero() || !is_valid_replica_id(replica)) return std::nullopt;
  return Version{*hlc, std::string(replica)};
}

}  // namespace libreta
