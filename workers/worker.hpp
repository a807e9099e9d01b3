#pragma once

#include <string>

#include "core/config/config.hpp"

namespace redrive::workers {

inline constexpr const char* kConsumers[] = {"payment", "webhook", "noop"};

struct WorkerSetup {
  config::Config config;
  std::string consumer;     // payment | webhook | noop
  std::string instance_id;  // claimed_by and the sessions' application_name
};

// Runs a worker until SIGTERM/SIGINT, drains, and returns the process exit code.
int RunWorker(const WorkerSetup& setup);

}  // namespace redrive::workers
