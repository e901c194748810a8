#include "cli_error.hpp"

namespace libreta::cli {

int exit_code_for(ErrorCode code) {
  const int value = static_cast<int>(code);
  if (value >= 100 && value < 300) return kExitValidation;  // bad input, unknown row
  if (value >= 300 && value < 400) return kExitStorage;
  if (value >= 400 && value < 500) return kExitNetwork;
  return kExitInternal;
}

}  // namespace libreta::cli
