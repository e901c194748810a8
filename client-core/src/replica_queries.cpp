// Queries for a seller on the road: the children of a customer, full-text search, customer
// lists and reminders (follow-ups, birthdays, quiet customers, lost deals); the reports are
// in replica_reports.cpp. All read-only. Every query skips deleted rows and the children of deleted
// customers; dates are compared as text, which orders YYYY-MM-DD correctly.
#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "libreta/protocol/text.hpp"
#include "replica_query_support.hpp"

namespace libreta::client {
namespace {

using namespace queries;

// A search text is read up to this many bytes: more is not something a seller types.
constexpr std::size_t kMaxSearchTextBytes = 1'000;
// More terms than this in a search text are ignored: nobody types them, and each one costs
// a pass over the index.
constexpr std::size_t kMaxSearchTerms = 16;
// Longest snippet shown.
constexpr std::size_t kMaxSnippetBytes = 160;
// A listing's search text of one word shorter than this (in characters) is matched against
// the start of names rather than ranked over the whole index.
constexpr std::size_t kMinRankedSearch = 3;
// A listing ranks the matches of its search text when they are at most this many documents
// of the search index; a text that matches more lists the names that start with it (ranking
// costs about 15 ms a thousand documents).
constexpr std::size_t kMaxRankedDocuments = 1'500;

// ---- Search text ---------------------------------------------------------------------------

// Decodes one UTF-8 code point at `i`, advancing it; an invalid byte gives U+FFFD.
char32_t next_code_point(std::string_view text, std::size_t& i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  std::size_t length = c < 0x80             ? 1
                       : (c & 0xe0) == 0xc0 ? 2
                       : (c & 0xf0) == 0xe0 ? 3
                       : (c & 0xf8) == 0xf0 ? 4
                                            : 0;
  if (length == 0 || i + length > text.size()) {
    ++i;
    return 0xfffd;
  }
  char32_t code = length == 1   ? c
                  : length == 2 ? (c & 0x1f)
                  : length == 3 ? (c & 0x0f)
                                : (c & 0x07);
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) {
      ++i;
      return 0xfffd;
    }
    code = (code << 6) | (byte(i + k) & 0x3f);
  }
  i += length;
  return code;
}

std::size_t code_points(std::string_view text) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < text.size();) {
    next_code_point(text, i);
    ++count;
  }
  return count;
}

// Whether a code point belongs to a search term. Mirrors the FTS5 unicode61 tokenizer
// closely enough for the text sellers type: ASCII letters and digits, letters of other
// scripts; punctuation, symbols and emoji separate terms. A character misjudged here can
// only make a search find less, never fail: every term is a quoted FTS5 string.
bool is_term_char(char32_t c) {
  if (c < 0x80) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }
  if (c < 0xc0) {  // Latin-1 punctuation and symbols, except its letters and digits
    return c == 0xaa || c == 0xb2 || c == 0xb3 || c == 0xb5 || c == 0xb9 || c == 0xba ||
           (c >= 0xbc && c <= 0xbe);
  }
  if (c == 0xd7 || c == 0xf7) return false;        // × ÷
  if (c >= 0x2000 && c <= 0x2bff) return false;    // punctuation, currency, arrows
  if (c >= 0x3000 && c <= 0x303f) return false;    // CJK punctuation
  if (c >= 0xfe00 && c <= 0xfe0f) return false;    // variation selectors
  if (c >= 0xff00 && c <= 0xff0f) return false;    // fullwidth punctuation
  if (c == 0xfeff || c == 0xfffd) return false;    // BOM, invalid byte
  if (c >= 0x1f000 && c <= 0x1faff) return false;  // emoji and pictographs
  return true;
}

// The user's text cut into terms (raw bytes, not folded yet).
std::vector<std::string> search_terms(std::string_view text) {
  std::vector<std::string> terms;
  std::string current;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t start = i;
    const char32_t c = next_code_point(text, i);
    if (is_term_char(c)) {
      current.append(text.substr(start, i - start));
    } else if (!current.empty()) {
      terms.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) terms.push_back(std::move(current));
  if (terms.size() > kMaxSearchTerms) terms.resize(kMaxSearchTerms);
  return terms;
}

// An FTS5 expression: every term as a quoted prefix, all ANDed. Terms hold no quote (it is
// a separator), so FTS syntax typed by the user (AND, NEAR, *, parentheses) is plain text.
// A term is looked up folded ("strasse" for "Straße") and, when folding changed more than
// the tokenizer would, as typed too, so it matches whether the document was folded or not.
std::string fts_expression(const std::vector<std::string>& terms) {
  std::string expression;
  for (const auto& term : terms) {
    const std::string folded = fold_text(term);
    if (!expression.empty()) expression += " AND ";
    if (folded == term) {
      expression += '"' + folded + "\"*";
    } else {
      expression += "(\"" + folded + "\"* OR \"" + term + "\"*)";
    }
  }
  return expression;
}

// A snippet for display: the field of the matching document that the search text matched,
// as the seller wrote it. A document holds one line per searchable field, each followed by
// the forms indexed for search only (the folded text, a phone's runs of digits, a compact tax
// id): those are never shown; when only one of them matched ("912345678" in a phone), the
// field it comes from is. Cut to at most `max_bytes` on a character boundary.
std::string display_snippet(std::string_view body, const std::vector<std::string>& terms,
                            std::size_t max_bytes) {
  struct Line {
    std::string_view original;  // the field's text
    std::size_t matched = 0;    // terms it, or a form of it, matched
  };
  std::vector<Line> lines;
  std::vector<std::string> folded_terms;
  for (const auto& term : terms) folded_terms.push_back(fold_text(term));
  // How many terms start a word of the line.
  const auto matches = [&](std::string_view line) {
    const std::string folded = fold_text(line);
    std::size_t count = 0;
    for (const auto& term : folded_terms) {
      for (std::size_t at = folded.find(term); at != std::string::npos;
           at = folded.find(term, at + 1)) {
        if (at == 0 || !std::isalnum(static_cast<unsigned char>(folded[at - 1]))) {
          ++count;
          break;
        }
      }
    }
    return count;
  };
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t end = body.find('\n', start);
    if (end == std::string_view::npos) end = body.size();
    const std::string_view line = body.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    const bool derived =
        !lines.empty() && (line == fold_text(lines.back().original) ||
                           line.find_first_not_of("0123456789 ") == std::string_view::npos ||
                           line == normalize_tax_id(lines.back().original));
    if (derived) {
      lines.back().matched = std::max(lines.back().matched, matches(line));
      continue;
    }
    lines.push_back({line, matches(line)});
  }
  // The first line that matched the most terms; the first line when none matched.
  std::string text;
  std::size_t best = 0;
  for (const Line& line : lines) {
    if (line.matched > best) {
      best = line.matched;
      text = std::string(line.original);
    }
  }
  if (text.empty() && !lines.empty()) text = std::string(lines.front().original);
  if (text.size() <= max_bytes) return text;
  std::size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) --end;
  text.resize(end);
  return text + "…";
}

}  // namespace

// ---- A customer's children -----------------------------------------------------------------

std::vector<Contact> Replica::contacts_of(std::string_view customer_id) const {
  auto contacts = live_children<Contact>(*impl_, customer_id, "t.id");
  sort_by_key(contacts, [](const Contact& c) { return std::tuple(fold_text(c.name), c.name); });
  return contacts;
}

std::vector<Interaction> Replica::interactions_of(std::string_view customer_id) const {
  return live_children<Interaction>(*impl_, customer_id, "t.date DESC, t.id DESC");
}

std::vector<Purchase> Replica::purchases_of(std::string_view customer_id) const {
  return live_children<Purchase>(*impl_, customer_id, "t.date DESC, t.id DESC");
}

std::vector<FollowUp> Replica::followups_of(std::string_view customer_id) const {
  return live_children<FollowUp>(*impl_, customer_id, "t.due, t.id");
}

// ---- Search ----------------------------------------------------------------------------------

std::size_t Replica::update_search_index() {
  return impl_->index_pending_search();
}

namespace {

// Matches of `terms` ranked by bm25, one per customer, best first, at most `limit`; with
// the snippet of each when `snippets`.
std::vector<SearchHit> ranked_hits(const Replica::Impl& impl, const std::vector<std::string>& terms,
                                   std::size_t limit, bool snippets) {
  // Matches ranked by bm25 (lower is better). A stale document (deleted row, deleted
  // customer) never shows. One hit per customer: its own row when it matched, else its
  // best-ranked child; customers ordered by their best match.
  std::string sql =
      "WITH matches AS ("
      " SELECT customer_id, tbl, row_id, bm25(search_index) AS score, " +
      std::string(snippets ? "body" : "''") +
      " AS snip"
      " FROM search_index WHERE search_index MATCH ?1";
  sql +=
      "), live AS ("
      " SELECT m.* FROM matches m"
      " JOIN customers c INDEXED BY customers_live ON c.id = m.customer_id AND c.deleted = 0"
      " WHERE m.tbl = 'customers' AND m.row_id = m.customer_id"
      "  OR m.tbl = 'contacts' AND EXISTS (SELECT 1 FROM contacts x"
      "   WHERE x.id = m.row_id AND x.customer_id = m.customer_id AND x.deleted = 0)"
      "  OR m.tbl = 'interactions' AND EXISTS (SELECT 1 FROM interactions x"
      "   WHERE x.id = m.row_id AND x.customer_id = m.customer_id AND x.deleted = 0)"
      "), grouped AS ("
      " SELECT live.*, MIN(score) OVER (PARTITION BY customer_id) AS best,"
      "  ROW_NUMBER() OVER (PARTITION BY customer_id"
      "   ORDER BY tbl = 'customers' DESC, score, row_id) AS pick"
      " FROM live)"
      " SELECT g.customer_id, c.name, g.tbl, g.row_id, g.snip, g.score"
      " FROM grouped g JOIN customers c INDEXED BY customers_live"
      " ON c.id = g.customer_id AND c.deleted = 0"
      " WHERE g.pick = 1 ORDER BY g.best, c.name COLLATE NOCASE, g.customer_id LIMIT ?2";

  auto& stmt = impl.statement(sql);
  ResetOnExit reset(stmt);
  stmt.bind(1, fts_expression(terms));
  stmt.bind(2, to_sql_limit(limit));
  std::vector<SearchHit> hits;
  while (stmt.step()) {
    SearchHit hit;
    hit.customer_id = stmt.text(0);
    hit.customer_name = stmt.text(1);
    hit.table = stmt.text(2);
    hit.row_id = stmt.text(3);
    if (snippets) hit.snippet = display_snippet(stmt.text_view(4), terms, kMaxSnippetBytes);
    if (hit.snippet.empty()) hit.snippet = hit.customer_name;
    hits.push_back(std::move(hit));
  }
  return hits;
}

// How many documents of the search index `terms` match, counted up to `cap`.
std::size_t matching_documents(const Replica::Impl& impl, const std::vector<std::string>& terms,
                               std::size_t cap) {
  auto& stmt = impl.statement(
      "SELECT count(*) FROM (SELECT 1 FROM search_index WHERE search_index MATCH ?1 LIMIT ?2)");
  ResetOnExit reset(stmt);
  stmt.bind(1, fts_expression(terms));
  stmt.bind(2, to_sql_limit(cap));
  stmt.step();
  return static_cast<std::size_t>(stmt.integer(0));
}

}  // namespace

std::vector<SearchHit> Replica::search(std::string_view text, std::size_t limit) const {
  impl_->index_pending_search();
  text = text.substr(0, kMaxSearchTextBytes);  // a cut sequence only ends the last term
  const std::vector<std::string> terms = search_terms(text);
  if (terms.empty() || limit == 0) return {};
  return ranked_hits(*impl_, terms, limit, true);
}

// ---- Lists and reminders --------------------------------------------------------------------

namespace {

// The conditions of a CustomerFilter on customers `c`, bound to ?1..?7 by bind_filter: one
// statement for every combination, an unset filter binds NULL and drops out.
constexpr std::string_view kFilterSql =
    " AND (?1 IS NULL OR c.status = ?1)"
    " AND (?2 IS NULL OR c.relationship = ?2)"
    " AND (?3 IS NULL OR c.segment = ?3)"
    " AND (?4 IS NULL OR c.city = ?4)"
    " AND (?5 IS NULL OR c.region = ?5)"
    " AND (?6 IS NULL OR c.owner = ?6)"
    " AND (?7 IS NULL OR CASE WHEN json_valid(c.tags)"
    "  THEN EXISTS (SELECT 1 FROM json_each(c.tags) t WHERE t.value = ?7) ELSE 0 END)";

// Whether the filter keeps out any customer at all.
bool filters(const CustomerFilter& filter) {
  return filter.status || filter.relationship || filter.segment || filter.city || filter.region ||
         filter.owner || filter.tag;
}

void bind_filter(sqlite::Statement& stmt, const CustomerFilter& filter) {
  stmt.bind(1, filter.status);
  stmt.bind(2, filter.relationship);
  stmt.bind(3, filter.segment);
  stmt.bind(4, filter.city);
  stmt.bind(5, filter.region);
  stmt.bind(6, filter.owner);
  stmt.bind(7, filter.tag);
}

// The ids of the customers matching `filter` (and, with a `prefix`, whose folded name starts
// with it) in name order, accents and case aside, from the name index: the `limit` after
// `offset`, and in `total` (when given) how many match in all.
std::vector<std::string> ids_by_name(const Replica::Impl& impl, const CustomerFilter& filter,
                                     const std::string* prefix, std::size_t limit,
                                     std::size_t offset, std::size_t* total) {
  std::string where = " FROM customers c INDEXED BY customers_name_key WHERE c.deleted = 0" +
                      std::string(kFilterSql);
  // Past every name starting with the prefix: U+10FFFF sorts after any character.
  const std::string from = prefix ? fold_text(*prefix) : std::string();
  const std::string to = from + "\xf4\x8f\xbf\xbf";
  if (prefix) where += " AND c._name_key >= ?8 AND c._name_key < ?9";
  const int next = prefix ? 10 : 8;
  if (total) {
    auto& count = impl.statement("SELECT count(*)" + where);
    ResetOnExit reset(count);
    bind_filter(count, filter);
    if (prefix) count.bind(8, from).bind(9, to);
    if (count.step()) *total = static_cast<std::size_t>(count.integer(0));
  }
  auto& page =
      impl.statement("SELECT c.id" + where + " ORDER BY c._name_key, c.name, c.id LIMIT ?" +
                     std::to_string(next) + " OFFSET ?" + std::to_string(next + 1));
  ResetOnExit reset(page);
  bind_filter(page, filter);
  if (prefix) page.bind(8, from).bind(9, to);
  page.bind(next, to_sql_limit(limit));
  page.bind(next + 1, static_cast<std::int64_t>(std::min<std::size_t>(offset, INT64_MAX)));
  std::vector<std::string> ids;
  while (page.step()) ids.push_back(page.text(0));
  return ids;
}

}  // namespace

std::vector<Customer> Replica::list_customers(const CustomerFilter& filter) const {
  if (filter.limit == 0) return {};
  const TableSpec& table = impl_->table(tables::customers);
  auto& stmt = impl_->statement("SELECT " + select_columns(table, "c") +
                                " FROM customers c WHERE c.id = ?1");
  std::vector<Customer> out;
  for (const auto& id : ids_by_name(*impl_, filter, nullptr, filter.limit, 0, nullptr)) {
    ResetOnExit reset(stmt);
    stmt.bind(1, id);
    if (stmt.step()) out.push_back(read_entity<Customer>(stmt, table));
  }
  return out;
}

namespace {

std::optional<std::string> last_contact_of(const Replica::Impl& impl, std::string_view id,
                                           std::string_view today) {
  auto& stmt = impl.statement("SELECT " + last_contact_sql("?1", "?2"));
  ResetOnExit reset(stmt);
  stmt.bind(1, id);
  stmt.bind(2, today);
  if (!stmt.step()) return std::nullopt;
  return stmt.optional_text(0);
}

// Customers whose last contact is shown in a listing: the last interaction (its day) or
// purchase up to today, by customer id.
std::unordered_map<std::string, std::string> last_contacts(const Replica::Impl& impl,
                                                           std::string_view today) {
  // The kept last contact (replica_day.cpp), but for the few customers whose last contact is
  // ahead of today: for them, the last one up to today.
  std::unordered_map<std::string, std::string> out;
  auto& kept = impl.statement(
      "SELECT id, _last_contact FROM customers WHERE deleted = 0 AND _last_contact <= ?1");
  {
    ResetOnExit reset(kept);
    kept.bind(1, today);
    while (kept.step()) out.emplace(kept.text(0), kept.text(1));
  }
  auto& ahead = impl.statement("SELECT id FROM customers WHERE deleted = 0 AND _last_contact > ?1");
  std::vector<std::string> ids;
  {
    ResetOnExit reset(ahead);
    ahead.bind(1, today);
    while (ahead.step()) ids.push_back(ahead.text(0));
  }
  for (const auto& id : ids) {
    if (auto day = last_contact_of(impl, id, today)) out.emplace(id, std::move(*day));
  }
  return out;
}

}  // namespace

CustomerListing Replica::customer_listing(const CustomerQuery& query,
                                          std::string_view today) const {
  day_argument(today, "today");
  const CustomerFilter& filter = query.filter;
  const bool searching = !search_terms(query.text).empty();
  const CustomerSort sort =
      query.sort == CustomerSort::relevance && !searching ? CustomerSort::name : query.sort;
  const TableSpec& table = impl_->table(tables::customers);
  CustomerListing listing;

  // A page to fill from ids, in order.
  std::unordered_map<std::string, std::string> contacts;
  const auto fill = [&](const std::vector<std::string>& ids) {
    auto& stmt = impl_->statement("SELECT " + select_columns(table, "c") +
                                  " FROM customers c WHERE c.id = ?1");
    for (const auto& id : ids) {
      ResetOnExit reset(stmt);
      stmt.bind(1, id);
      if (!stmt.step()) continue;
      ListedCustomer listed;
      listed.customer = read_entity<Customer>(stmt, table);
      if (sort == CustomerSort::last_contact) {
        if (auto it = contacts.find(id); it != contacts.end()) listed.last_contact = it->second;
      } else {
        listed.last_contact = last_contact_of(*impl_, id, today);
      }
      listing.customers.push_back(std::move(listed));
    }
  };

  // The first letters of a search, typed one at a time, match too much of a large book to
  // rank: until the text is a word of kMinRankedSearch characters, it lists the customers
  // whose name starts with it. Without a text, by name: the name index gives the page.
  //
  // A longer text that still matches too much of the book to rank (a word most names or
  // notes start with) does the same: the seller keeps typing to narrow it.
  const std::vector<std::string> terms = search_terms(query.text);
  bool by_name_start = terms.size() == 1 && code_points(terms[0]) < kMinRankedSearch;
  if (searching && !by_name_start) {
    impl_->index_pending_search();
    by_name_start =
        matching_documents(*impl_, terms, kMaxRankedDocuments + 1) > kMaxRankedDocuments;
  }
  if (by_name_start || (!searching && sort == CustomerSort::name)) {
    std::string typed;
    for (const auto& term : terms) typed += (typed.empty() ? "" : " ") + term;
    fill(ids_by_name(*impl_, filter, by_name_start ? &typed : nullptr, query.limit, query.offset,
                     &listing.total));
    listing.by_name_start = by_name_start;
    return listing;
  }

  // Otherwise every match, ordered here: with a text, the customers it matches (best first),
  // checked against the filter one by one when there is one; without a text, the whole
  // filtered book.
  struct Match {
    std::string key, name, id;
    std::optional<double> revenue;
    std::size_t rank = 0;
  };
  std::vector<Match> matches;
  const auto add_match = [&](sqlite::Statement& stmt, std::size_t rank) {
    Match match;
    match.id = stmt.text(0);
    match.name = stmt.text(1);
    if (sort != CustomerSort::relevance) match.key = fold_text(match.name);
    if (!stmt.is_null(2)) match.revenue = stmt.number(2);
    match.rank = rank;
    matches.push_back(std::move(match));
  };
  if (searching) {
    const auto hits = ranked_hits(*impl_, terms, kMaxRankedDocuments, false);
    if (!filters(filter) && sort != CustomerSort::revenue) {
      // The hits say all the order needs.
      for (std::size_t i = 0; i < hits.size(); ++i) {
        Match match;
        match.id = hits[i].customer_id;
        match.name = hits[i].customer_name;
        if (sort != CustomerSort::relevance) match.key = fold_text(match.name);
        match.rank = i;
        matches.push_back(std::move(match));
      }
    } else {
      auto& stmt = impl_->statement(
          "SELECT c.id, c.name, c.annual_revenue FROM customers c WHERE c.deleted = 0" +
          std::string(kFilterSql) + " AND c.id = ?8");
      for (std::size_t i = 0; i < hits.size(); ++i) {
        ResetOnExit reset(stmt);
        bind_filter(stmt, filter);
        stmt.bind(8, hits[i].customer_id);
        if (stmt.step()) add_match(stmt, i);
      }
    }
  } else {
    auto& stmt = impl_->statement(
        "SELECT c.id, c.name, c.annual_revenue FROM customers c WHERE c.deleted = 0" +
        std::string(kFilterSql));
    ResetOnExit reset(stmt);
    bind_filter(stmt, filter);
    while (stmt.step()) add_match(stmt, 0);
  }
  listing.total = matches.size();

  const auto by_name = [](const Match& a, const Match& b) {
    return std::tie(a.key, a.name, a.id) < std::tie(b.key, b.name, b.id);
  };
  switch (sort) {
    case CustomerSort::name:
      std::sort(matches.begin(), matches.end(), by_name);
      break;
    case CustomerSort::relevance:
      break;  // already best first
    case CustomerSort::revenue:
      std::sort(matches.begin(), matches.end(), [&](const Match& a, const Match& b) {
        if (a.revenue.has_value() != b.revenue.has_value()) return a.revenue.has_value();
        if (a.revenue && *a.revenue != *b.revenue) return *a.revenue > *b.revenue;
        return by_name(a, b);
      });
      break;
    case CustomerSort::last_contact:
      contacts = last_contacts(*impl_, today);
      std::sort(matches.begin(), matches.end(), [&](const Match& a, const Match& b) {
        const auto ia = contacts.find(a.id);
        const auto ib = contacts.find(b.id);
        const bool never_a = ia == contacts.end(), never_b = ib == contacts.end();
        if (never_a != never_b) return never_a;
        if (!never_a && ia->second != ib->second) return ia->second < ib->second;
        return by_name(a, b);
      });
      break;
  }
  std::vector<std::string> ids;
  const std::size_t end = std::min(matches.size(), query.offset + query.limit);
  for (std::size_t i = std::min(query.offset, end); i < end; ++i) ids.push_back(matches[i].id);
  fill(ids);
  return listing;
}

}  // namespace libreta::client
