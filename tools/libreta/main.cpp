// `libreta`, the seller's command-line tool: everything is in the libreta_cli library.
#include "app.hpp"

int main(int argc, char** argv) {
  return libreta::cli::run(argc, argv);
}
