// The `libreta` program as a function, so that tests can run it in-process as well as
// through the real binary: parses the command line, runs one command, and returns the exit
// status (cli_error.hpp). Messages follow LC_ALL / LC_MESSAGES / LANG. Main thread only.
#pragma once

#include <iosfwd>

namespace libreta::cli {

int run(int argc, const char* const* argv);
int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace libreta::cli
