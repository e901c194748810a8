// The error-code registry: every code has a stable, distinct name and number, and the
// Result type carries either a value or an Error.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "libreta/protocol/error.hpp"

namespace libreta {
namespace {

bool is_snake_case(std::string_view name) {
  if (name.empty() || name.front() < 'a' || name.front() > 'z' || name.back() == '_') {
    return false;
  }
  char previous = 0;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok || (c == '_' && previous == '_')) return false;
    previous = c;
  }
  return true;
}

TEST_CASE("error: every registered code has a distinct snake_case name", "[error]") {
  std::set<std::string_view> names;
  for (ErrorCode code : kAllErrorCodes) {
    const std::string_view name = error_code_name(code);
    INFO("code " << static_cast<int>(code) << " is named '" << name << "'");
    CHECK(name != "unknown");
    CHECK(is_snake_case(name));
    CHECK(names.insert(name).second);
  }
  CHECK(names.size() == std::size(kAllErrorCodes));
}

TEST_CASE("error: every registered code has a distinct numeric value in its block", "[error]") {
  std::set<int> values;
  for (ErrorCode code : kAllErrorCodes) {
    const int value = static_cast<int>(code);
    INFO("code " << error_code_name(code) << " = " << value);
    CHECK(values.insert(value).second);
    CHECK(value >= 100);
    CHECK(value <= 999);
  }
  CHECK(values.size() == std::size(kAllErrorCodes));
}

TEST_CASE("error: wire names and numbers of the codes do not change", "[error]") {
  // These travel on the wire and into exit codes: renaming or renumbering breaks peers.
  CHECK(error_code_name(ErrorCode::malformed) == "malformed");
  CHECK(static_cast<int>(ErrorCode::malformed) == 100);
  CHECK(error_code_name(ErrorCode::invalid_value) == "invalid_value");
  CHECK(static_cast<int>(ErrorCode::invalid_value) == 104);
  CHECK(error_code_name(ErrorCode::clock_skew) == "clock_skew");
  CHECK(static_cast<int>(ErrorCode::clock_skew) == 107);
  CHECK(error_code_name(ErrorCode::not_found) == "not_found");
  CHECK(static_cast<int>(ErrorCode::not_found) == 200);
  CHECK(error_code_name(ErrorCode::schema_too_new) == "schema_too_new");
  CHECK(static_cast<int>(ErrorCode::schema_too_new) == 302);
  CHECK(error_code_name(ErrorCode::tls) == "tls");
  CHECK(static_cast<int>(ErrorCode::tls) == 410);
  CHECK(error_code_name(ErrorCode::internal) == "internal");
  CHECK(static_cast<int>(ErrorCode::internal) == 900);
}

TEST_CASE("error: a code outside the registry is named unknown", "[error]") {
  CHECK(error_code_name(static_cast<ErrorCode>(12345)) == "unknown");
}

TEST_CASE("error: an Error carries its code and message", "[error]") {
  const Error error(ErrorCode::not_found, "no customer 42");
  CHECK(error.code() == ErrorCode::not_found);
  CHECK(std::string(error.what()) == "no customer 42");
}

TEST_CASE("error: a Result holds either a value or an error", "[error]") {
  Result<int> good(7);
  REQUIRE(good.ok());
  CHECK(static_cast<bool>(good));
  CHECK(good.value() == 7);
  CHECK(std::move(good).take() == 7);

  Result<int> bad(Error(ErrorCode::too_large, "too big"));
  CHECK_FALSE(bad.ok());
  CHECK_FALSE(static_cast<bool>(bad));
  CHECK(bad.error().code() == ErrorCode::too_large);
  CHECK(std::string(bad.error().what()) == "too big");
}

TEST_CASE("error: taking the value of a failed Result throws its Error", "[error]") {
  Result<std::string> bad(Error(ErrorCode::wrong_type, "not text"));
  try {
    (void)std::move(bad).take();
    FAIL("take() of a failed Result must throw");
  } catch (const Error& error) {
    CHECK(error.code() == ErrorCode::wrong_type);
    CHECK(std::string(error.what()) == "not text");
  }
}

}  // namespace
}  // namespace libreta
