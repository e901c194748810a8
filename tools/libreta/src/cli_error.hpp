// The exit codes of `libreta` and the error that carries one up to main. Pure values.
// Every command reports failure by throwing CliError (or letting a libreta::Error through);
// run() in app.cpp is the one place that turns them into a message and an exit status.
#pragma once

#include <stdexcept>
#include <string>

#include "libreta/protocol/error.hpp"

namespace libreta::cli {

// Documented in docs/seller-guide.md, "Exit codes". Never renumber.
inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;    // a bug or an unexpected failure
inline constexpr int kExitUsage = 2;       // bad command line, or no customer book yet
inline constexpr int kExitValidation = 3;  // bad value, unknown field or id, rejected import
inline constexpr int kExitNetwork = 4;     // the server could not be reached or refused us
inline constexpr int kExitStorage = 5;     // the replica file could not be read or written

// A failure already worded for the seller (in their language), with its exit status.
class CliError : public std::runtime_error {
 public:
  CliError(int exit_code, std::string message)
      : std::runtime_error(std::move(message)), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// The exit status for an error of the libraries, by its code's block (error.hpp).
int exit_code_for(ErrorCode code);

}  // namespace libreta::cli
