#include "cli/commands.hpp"

namespace redrive::cli {

std::vector<Command> InspectCommands() { return {}; }

}  // namespace redrive::cli
