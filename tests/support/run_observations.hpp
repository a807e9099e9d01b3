#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/invariants.hpp"

namespace redrive::testing {

// Where a finished run left its evidence.
struct EvidenceSources {
  std::string database_url;
  nlohmann::json ledger_orders;        // gateway-sim's /v1/ledger "orders" object
  std::vector<std::string> log_paths;  // every process's log file
  std::vector<std::string> secrets;    // values that must never appear in a log line
  std::int64_t backlog_threshold = 0;
};

// Reads the database, the ledger and the logs into the observations CheckInvariants judges.
RunObservations Observe(const EvidenceSources& sources);

}  // namespace redrive::testing
