#pragma once

#include <optional>
#include <string>

#include "core/config/config.hpp"

namespace redrive::controller {

struct ControllerSetup {
  config::Config config;
  std::optional<std::string> config_path;  // re-read on SIGHUP or when the file changes
  std::string instance_id;                 // lease holder, audit actor
  bool once = false;                       // one cycle as leader, then exit
};

// Runs the controller until SIGTERM/SIGINT (or one cycle with --once) and returns the exit
// code: 0 on a clean stop or a successful --once cycle, 1 otherwise.
int RunController(const ControllerSetup& setup);

}  // namespace redrive::controller
