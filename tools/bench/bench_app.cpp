#include "bench_app.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <string>
#include <vector>

#include "libreta/client/replica.hpp"
#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/text.hpp"
#include "libreta/web/form.hpp"
#include "seller_app/seller_app.hpp"
#include "support.hpp"
#include "workload.hpp"

namespace libreta::bench {
namespace {

// The day the book is looked at; the activity below is spread over the year before it.
constexpr const char* kToday = "2026-06-15";

std::string day_before(int days) {
  // 2026-06-15 is day 20619 since 1970-01-01.
  return civil_from_days(20'619 - days);
}

// A child row as a server sends it: one change per field, at the customer's server version.
void append_row(const std::string& table, const std::string& id, const Record& fields,
                const Version& version, std::vector<Change>& out) {
  for (const auto& [field, value] : fields) {
    out.push_back(Change{table, id, field, {}, value, version, {}});
  }
}

// Every customer with a contact, two interactions and two purchases; one in ten with a
// follow-up (some due, some overdue), one in twenty a lost deal to revisit.
void append_activity(const Customer& customer, std::uint64_t index, std::vector<Change>& out) {
  const Version version = workload::server_version(index);
  const std::string& id = customer.id;
  append_row(tables::contacts, id + "-k",
             {{"customer_id", Value(id)},
              {"name", Value("Contacto " + std::to_string(index))},
              {"birthday", Value("1980-" + day_before(static_cast<int>(index % 365)).substr(5))}},
             version, out);
  for (int k = 0; k < 2; ++k) {
    const int days = static_cast<int>((index * 7 + static_cast<std::uint64_t>(k) * 50) % 400);
    Record interaction{{"customer_id", Value(id)},
                       {"type", Value("visit")},
                       {"date", Value(day_before(days) + "T10:00:00Z")},
                       {"outcome", Value("positive")}};
    if (k == 0 && index % 20 == 0) {
      interaction["outcome"] = Value("lost");
      interaction["lost_reason"] = Value("precio");
      interaction["revisit_on"] = Value(day_before(static_cast<int>(index % 30)));
    }
    append_row(tables::interactions, id + "-i" + std::to_string(k), interaction, version, out);
    append_row(tables::purchases, id + "-p" + std::to_string(k),
               {{"customer_id", Value(id)},
                {"date", Value(day_before(days + 3))},
                {"product", Value("producto " + std::to_string(index % 50))},
                {"amount", Value(100.0 + static_cast<double>(index % 900))}},
               version, out);
  }
  if (index % 10 == 0) {
    append_row(tables::followups, id + "-f",
               {{"customer_id", Value(id)},
                {"due", Value(day_before(static_cast<int>(index % 40) - 20))},
                {"title", Value("Llamar")}},
               version, out);
  }
}

// What a seller types into the search box, a letter at a time: prefixes of the names of
// customers in the book.
std::vector<std::string> typed_searches(const std::vector<Customer>& customers, std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; out.size() < n; ++i) {
    const std::string word = fold_text(customers[(i * 7919) % customers.size()].name);
    const std::string first = word.substr(0, word.find(' '));
    for (std::size_t length = 1; length <= std::min<std::size_t>(first.size(), 5) && out.size() < n;
         ++length) {
      out.push_back(first.substr(0, length));
    }
  }
  return out;
}

double median_ms(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return quantile(ms, 0.5);
}
double p95_ms(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return quantile(ms, 0.95);
}

// Times a request `count` times through the handler; fails unless each is answered 200.
template <class Target>
std::vector<double> time_requests(cli::SellerApp& app, const std::string& cookie, std::size_t count,
                                  Target target) {
  std::vector<double> ms;
  for (std::size_t i = 0; i < count; ++i) {
    web::Request request = web::Request::get(target(i));
    request.headers.push_back({"host", "127.0.0.1:8484"});
    request.headers.push_back({"accept-language", "es-ES"});
    request.headers.push_back({"cookie", cookie});
    const auto start = Clock::now();
    const web::Response response = app.handle(request);
    ms.push_back(seconds_since(start) * 1e3);
    if (response.status != 200) {
      fail("the app answered " + std::to_string(response.status) + " to " + target(i));
    }
  }
  return ms;
}

// The same number of plain SQLite statements, on another connection to the same file.
std::vector<double> time_sql(const std::filesystem::path& file, const std::string& sql,
                             std::size_t count, const std::vector<std::string>& arguments = {}) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    const std::string message = sqlite3_errmsg(db);
    sqlite3_close(db);
    fail("baseline statement: " + message);
  }
  std::vector<double> ms;
  for (std::size_t i = 0; i < count; ++i) {
    if (!arguments.empty()) {
      const std::string& argument = arguments[i % arguments.size()];
      sqlite3_bind_text(stmt, 1, argument.c_str(), static_cast<int>(argument.size()),
                        SQLITE_TRANSIENT);
    }
    const auto start = Clock::now();
    std::size_t rows = 0;
    while (sqlite3_step(stmt) == SQLITE_ROW) ++rows;
    ms.push_back(seconds_since(start) * 1e3);
    sqlite3_reset(stmt);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return ms;
}

// The book, loaded as a bootstrap would (pages of 1,000 customers with their activity), then
// indexed for search.
void build_book(const std::filesystem::path& file, const std::vector<Customer>& customers) {
  client::ReplicaOptions replica_options;
  replica_options.new_replica_id = "bench-app";
  auto replica = client::Replica::open(file, replica_options);
  std::vector<Change> changes;
  for (std::size_t first = 0; first < customers.size(); first += 1000) {
    changes.clear();
    const std::size_t end = std::min(customers.size(), first + 1000);
    for (std::size_t i = first; i < end; ++i) {
      workload::append_customer_changes(customers[i], i, changes);
      append_activity(customers[i], i, changes);
    }
    replica->apply_remote(changes);
  }
  replica->update_search_index();
}

}  // namespace

void run_app_scenario(Reporter& report, const AppBenchOptions& options) {
  TempDir dir(options.dir.empty() ? std::filesystem::temp_directory_path() : options.dir,
              "libreta-bench-app");
  const auto file = options.book.empty() ? dir.path() / "book.db" : options.book;

  // The book, loaded as a bootstrap would, then indexed for search (not timed).
  const auto prepare_start = Clock::now();
  const auto customers = workload::make_customers(options.customers, options.seed);
  if (!std::filesystem::exists(file)) build_book(file, customers);
  report.say("          (book of %zu customers with their activity built in %.1f s, not timed)",
             customers.size(), seconds_since(prepare_start));

  const std::vector<std::string> searches = typed_searches(customers, options.requests);
  std::vector<std::string> search_patterns;
  for (const auto& text : searches) search_patterns.push_back("\"" + text + "\"*");
  const std::size_t pages = std::max<std::size_t>(1, customers.size() / 50);

  const std::vector<Figure> figures = {
      {"today_p50_ms", "Today, p50", "ms"},
      {"today_p95_ms", "Today, p95", "ms", "goal <= 50 ms", "baseline_due_p95_ms"},
      {"today_changed_p50_ms", "Today right after a sync commit, p50", "ms"},
      {"today_changed_p95_ms", "Today right after a sync commit, p95", "ms", "goal <= 50 ms",
       "baseline_due_p95_ms"},
      {"list_p50_ms", "customer list page, p50", "ms"},
      {"list_p95_ms", "customer list page, p95", "ms", "goal <= 50 ms", "baseline_list_p95_ms"},
      {"search_p50_ms", "search as you type, p50", "ms"},
      {"search_p95_ms", "search as you type, p95", "ms", "goal <= 50 ms", "baseline_search_p95_ms"},
      {"card_p95_ms", "customer card, p95", "ms"},
      {"baseline_due_p95_ms", "   SQLite: follow-ups due, p95", "ms"},
      {"baseline_list_p95_ms", "   SQLite: 50 customers by name, p95", "ms"},
      {"baseline_search_p95_ms", "   SQLite: FTS5 prefix match, 50 rows, p95", "ms"},
  };
  report.scenario(
      "app",
      std::to_string(customers.size()) +
          " customers, each with a contact, two visits and two purchases, one in ten with a "
          "follow-up; " +
          std::to_string(options.requests) +
          " requests of each kind through the app's handler (Today; list pages across the "
          "book; searches typed a letter at a time); baselines: plain SQLite statements on "
          "the same file",
      {{"customers", customers.size()}, {"requests", options.requests}}, figures, options.runs,
      [&](std::size_t run) {
        RunValues r;
        cli::SellerAppOptions app_options;
        app_options.today = [] { return std::string(kToday); };
        app_options.now_utc = [] { return std::string(kToday) + "T10:00:00Z"; };
        cli::SellerApp app(client::Replica::open(file), std::move(app_options));
        app.set_allowed_hosts({"127.0.0.1:8484"});
        web::Request sign_in = web::Request::get("/signin?key=" + app.new_sign_in_key());
        sign_in.headers.push_back({"host", "127.0.0.1:8484"});
        const auto signed_in = app.handle(sign_in);
        const std::string cookie(
            signed_in.header("set-cookie")->substr(0, signed_in.header("set-cookie")->find(';')));

        const auto today = time_requests(app, cookie, options.requests,
                                         [](std::size_t) { return std::string("/"); });
        // Today again, each time right after another connection (as the sync session does)
        // committed a change to the book.
        auto writer = client::Replica::open(file);
        std::vector<double> today_changed;
        for (std::size_t i = 0; i < std::max<std::size_t>(1, options.requests / 10); ++i) {
          writer->update(
              tables::customers, customers[(i * 131) % customers.size()].id,
              {{"notes", Value("nota " + std::to_string(run) + "." + std::to_string(i))}});
          const auto once =
              time_requests(app, cookie, 1, [](std::size_t) { return std::string("/"); });
          today_changed.push_back(once.front());
        }
        writer.reset();
        const auto list = time_requests(app, cookie, options.requests, [&](std::size_t i) {
          return "/customers?partial=1&page=" + std::to_string(1 + (i * 37) % pages);
        });
        const auto search = time_requests(app, cookie, searches.size(), [&](std::size_t i) {
          return "/customers?partial=1&q=" + web::percent_encode(searches[i]);
        });
        const auto card = time_requests(app, cookie, options.requests, [&](std::size_t i) {
          return "/customers/" + customers[(i * 7919) % customers.size()].id;
        });
        r["today_p50_ms"] = median_ms(today);
        r["today_p95_ms"] = p95_ms(today);
        r["today_changed_p50_ms"] = median_ms(today_changed);
        r["today_changed_p95_ms"] = p95_ms(today_changed);
        r["list_p50_ms"] = median_ms(list);
        r["list_p95_ms"] = p95_ms(list);
        r["search_p50_ms"] = median_ms(search);
        r["search_p95_ms"] = p95_ms(search);
        r["card_p95_ms"] = p95_ms(card);
        r["baseline_due_p95_ms"] = p95_ms(
            time_sql(file,
                     "SELECT t.id, t.title, c.name FROM followups t JOIN customers c ON c.id = "
                     "t.customer_id WHERE t.deleted = 0 AND t.done IS NOT 1 AND t.due <= '" +
                         std::string(kToday) + "' ORDER BY t.due",
                     options.requests));
        r["baseline_list_p95_ms"] = p95_ms(
            time_sql(file,
                     "SELECT id, name, city, status FROM customers WHERE deleted = 0 ORDER BY name "
                     "LIMIT 50",
                     options.requests));
        r["baseline_search_p95_ms"] = p95_ms(
            time_sql(file,
                     "SELECT customer_id, row_id FROM search_index WHERE search_index MATCH ?1 "
                     "LIMIT 50",
                     search_patterns.size(), search_patterns));
        return r;
      });
}

}  // namespace libreta::bench
