// The app's static files (stylesheet, script, icon), built into the program: the app loads
// nothing from another host.
#pragma once

#include <optional>
#include <string_view>

namespace libreta::cli::app {

struct Asset {
  std::string_view content_type;
  std::string_view body;
};

// The asset of that file name ("app.css"), or nullopt.
std::optional<Asset> asset(std::string_view name);

}  // namespace libreta::cli::app
