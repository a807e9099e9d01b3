#include "cli/commands.hpp"
#include "cli/repair_common.hpp"

namespace redrive::cli {

std::vector<Command> RepairCommands() {
  return {{"dlq", "dead letters: list, show, replay, discard", repair::RunDlq},
          {"review", "orders in NEEDS_REVIEW: list, resolve as PAID or FAILED", repair::RunReview}};
}

}  // namespace redrive::cli
