#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/config/config.hpp"

namespace redrive::cli {

enum class OutputFormat { kText, kJson };

struct Context {
  config::Config config;
  OutputFormat output = OutputFormat::kText;
  std::vector<std::string> args;  // the command's own arguments, after its name
};

// Exit codes shared by every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the operation failed (database unreachable, ...)
inline constexpr int kExitUsage = 2;    // bad flags or configuration

struct Command {
  std::string name;     // "migrate", "dlq", "orders", ...
  std::string summary;  // one line for `redrivectl --help`
  std::function<int(const Context&)> run;
};

// Each group lives in its own file; main.cpp lists them all.
std::vector<Command> MigrateCommands();  // migrate, version
std::vector<Command> InspectCommands();  // status, orders (stuck, show, place)
std::vector<Command> RepairCommands();   // dlq, review
std::vector<Command> PlanCommands();     // plan

}  // namespace redrive::cli
