#pragma once

#include <string>
#include <vector>

#include "core/config/config.hpp"

namespace redrive::cli {

enum class OutputFormat { kText, kJson };

struct Context {
  config::Config config;
  OutputFormat output = OutputFormat::kText;
  std::vector<std::string> args;  // the subcommand's own arguments
};

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the operation failed (database unreachable, ...)
inline constexpr int kExitUsage = 2;    // bad flags or configuration

int RunMigrate(const Context& context);

}  // namespace redrive::cli
