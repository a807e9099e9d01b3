// redrivectl: the operator CLI. Global flags -> configuration -> one command.
#include <algorithm>
#include <iostream>
#include <optional>

#include "cli/commands.hpp"
#include "core/runtime/log.hpp"

namespace {

using redrive::cli::Command;
using redrive::cli::kExitUsage;

std::vector<Command> AllCommands() {
  std::vector<Command> all;
  for (auto group : {redrive::cli::MigrateCommands, redrive::cli::InspectCommands,
                     redrive::cli::RepairCommands, redrive::cli::PlanCommands}) {
    auto commands = group();
    all.insert(all.end(), commands.begin(), commands.end());
  }
  return all;
}

void PrintUsage(std::ostream& out) {
  out << "usage: redrivectl [--config FILE] [-o text|json] COMMAND [ARGS]\n\n"
         "The database comes from --config or REDRIVE_DATABASE_URL. Global flags may stand\n"
         "anywhere on the line.\n\ncommands:\n";
  for (const auto& command : AllCommands()) {
    out << "  " << command.name
        << std::string(10 - std::min<std::size_t>(command.name.size(), 9), ' ') << command.summary
        << "\n";
  }
  out << "\n`redrivectl COMMAND --help` shows a command's own flags.\n";
}

struct GlobalFlags {
  std::optional<std::string> config_path;
  std::string output = "text";
  bool help = false;
  std::vector<std::string> rest;  // the command and its arguments, in order
};

// Global flags are taken wherever they stand, so `redrivectl dlq list -o json` works; the
// rest is left, in order, for the command.
std::optional<GlobalFlags> ParseGlobalFlags(int argc, char** argv) {
  GlobalFlags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const std::string& name) -> std::optional<std::string> {
      if (arg.rfind(name + "=", 0) == 0) return arg.substr(name.size() + 1);
      if (arg == name) {
        if (i + 1 >= argc) {
          std::cerr << "redrivectl: " << name << " needs a value\n";
          return std::nullopt;
        }
        return std::string(argv[++i]);
      }
      return std::nullopt;
    };
    const bool takes_value = arg == "--config" || arg == "-o" || arg == "--output" ||
                             arg.rfind("--config=", 0) == 0 || arg.rfind("--output=", 0) == 0;
    if (arg.rfind("--config", 0) == 0 && takes_value) {
      auto path = value("--config");
      if (!path) return std::nullopt;
      flags.config_path = *path;
    } else if ((arg == "-o" || arg.rfind("--output", 0) == 0) && takes_value) {
      auto format = value(arg == "-o" ? "-o" : "--output");
      if (!format) return std::nullopt;
      flags.output = *format;
    } else if ((arg == "-h" || arg == "--help") && flags.rest.empty()) {
      flags.help = true;
    } else {
      flags.rest.push_back(arg);
    }
  }
  return flags;
}

}  // namespace

int main(int argc, char** argv) {
  redrive::log::SetComponent("redrivectl");
  const auto flags = ParseGlobalFlags(argc, argv);
  if (!flags) return kExitUsage;
  if (flags->help || flags->rest.empty()) {
    PrintUsage(flags->help ? std::cout : std::cerr);
    return flags->help ? 0 : kExitUsage;
  }
  if (flags->output != "text" && flags->output != "json") {
    std::cerr << "redrivectl: --output must be text or json, got '" << flags->output << "'\n";
    return kExitUsage;
  }

  const std::string& name = flags->rest.front();
  const auto commands = AllCommands();
  const auto command = std::find_if(commands.begin(), commands.end(),
                                    [&](const Command& c) { return c.name == name; });
  if (command == commands.end()) {
    std::cerr << "redrivectl: unknown command '" << name << "'\n\n";
    PrintUsage(std::cerr);
    return kExitUsage;
  }

  redrive::cli::Context context;
  context.output = flags->output == "json" ? redrive::cli::OutputFormat::kJson
                                           : redrive::cli::OutputFormat::kText;
  context.args.assign(flags->rest.begin() + 1, flags->rest.end());
  context.config = redrive::config::LoadOrExit(flags->config_path);  // exits 2 naming the key
  return command->run(context);
}
