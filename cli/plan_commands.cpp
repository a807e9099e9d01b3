#include "cli/commands.hpp"

namespace redrive::cli {

std::vector<Command> PlanCommands() { return {}; }

}  // namespace redrive::cli
