#include "customer_lookup.hpp"

#include <vector>

#include "cli_error.hpp"
#include "libreta/protocol/text.hpp"

namespace libreta::cli {
namespace {

// Candidates listed in an "ambiguous" error.
constexpr std::size_t kMaxCandidatesShown = 10;

std::string collapse_spaces(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == ' ' || c == '\t') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

Customer find_customer(Context& ctx, std::string_view id_or_text) {
  auto& replica = ctx.replica();
  if (auto customer = replica.customer(id_or_text)) return *customer;

  const auto hits = replica.search(id_or_text, 200);
  if (hits.empty()) {
    throw CliError(kExitValidation, ctx.tr(Msg::customer_not_found, {id_or_text}));
  }
  if (hits.size() == 1) return *replica.customer(hits.front().customer_id);

  // Several match: the one named exactly so wins ("Bar Pepe" over "Bar Pepe 2").
  const std::string wanted = collapse_spaces(fold_text(id_or_text));
  std::vector<const client::SearchHit*> exact;
  for (const auto& hit : hits) {
    if (collapse_spaces(fold_text(hit.customer_name)) == wanted) exact.push_back(&hit);
  }
  if (exact.size() == 1) return *replica.customer(exact.front()->customer_id);

  std::string candidates;
  for (std::size_t i = 0; i < hits.size() && i < kMaxCandidatesShown; ++i) {
    candidates += "\n  " + hits[i].customer_id + "  " + hits[i].customer_name;
  }
  if (hits.size() > kMaxCandidatesShown) {
    candidates +=
        "\n  " + ctx.tr(Msg::and_more, {std::to_string(hits.size() - kMaxCandidatesShown)});
  }
  throw CliError(
      kExitValidation,
      ctx.tr(Msg::customer_ambiguous, {id_or_text, std::to_string(hits.size())}) + candidates);
}

}  // namespace libreta::cli
