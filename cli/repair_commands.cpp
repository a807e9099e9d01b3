#include "cli/commands.hpp"

namespace redrive::cli {

std::vector<Command> RepairCommands() { return {}; }

}  // namespace redrive::cli
