#pragma once

#include <string_view>

namespace redrive::pg {

// The controller's read-only scans, for EXPLAIN checks (tests, benchmarks): the SQL, the
// index that must serve it, and sample arguments for EXECUTE.
struct ControllerScan {
  std::string_view name;
  // The index that serves it, or alternatives separated by '|' when the planner may fairly
  // pick either (both partial, both proportional to the rows that matter).
  std::string_view index;
  std::string_view sql;
  std::string_view sample_arguments;  // e.g. "120, 5"
};

}  // namespace redrive::pg
