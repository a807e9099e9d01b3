// redrivectl: the operator CLI. Wires flags -> configuration -> one subcommand.
#include <boost/program_options.hpp>
#include <functional>
#include <iostream>
#include <map>

#include "cli/commands.hpp"
#include "core/runtime/log.hpp"

namespace po = boost::program_options;

namespace {

struct Command {
  std::function<int(const redrive::cli::Context&)> run;
  const char* summary;
};

const std::map<std::string, Command>& Commands() {
  static const std::map<std::string, Command> kCommands = {
      {"migrate",
       {redrive::cli::RunMigrate, "apply pending schema migrations (safe to run twice)"}},
  };
  return kCommands;
}

void PrintUsage(std::ostream& out, const po::options_description& options) {
  out << "usage: redrivectl [--config FILE] [-o text|json] COMMAND [ARGS]\n\ncommands:\n";
  for (const auto& [name, command] : Commands()) {
    out << "  " << name << std::string(12 - std::min<std::size_t>(name.size(), 11), ' ')
        << command.summary << "\n";
  }
  out << "\n" << options;
}

}  // namespace

int main(int argc, char** argv) {
  using redrive::cli::kExitUsage;
  redrive::log::SetComponent("redrivectl");

  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "config", po::value<std::string>(), "YAML configuration file (REDRIVE_* env vars override)")(
      "output,o", po::value<std::string>()->default_value("text"), "output format: text or json");
  po::options_description hidden;
  hidden.add_options()("command", po::value<std::string>())("args",
                                                            po::value<std::vector<std::string>>());
  po::options_description all;
  all.add(options).add(hidden);
  po::positional_options_description positional;
  positional.add("command", 1).add("args", -1);

  po::variables_map flags;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), flags);
    po::notify(flags);
  } catch (const po::error& error) {
    std::cerr << "redrivectl: " << error.what() << "\n";
    return kExitUsage;
  }
  if (flags.count("help") || !flags.count("command")) {
    PrintUsage(flags.count("help") ? std::cout : std::cerr, options);
    return flags.count("help") ? 0 : kExitUsage;
  }

  const std::string name = flags["command"].as<std::string>();
  const auto command = Commands().find(name);
  if (command == Commands().end()) {
    std::cerr << "redrivectl: unknown command '" << name << "'\n";
    PrintUsage(std::cerr, options);
    return kExitUsage;
  }

  redrive::cli::Context context;
  const std::string output = flags["output"].as<std::string>();
  if (output != "text" && output != "json") {
    std::cerr << "redrivectl: --output must be text or json, got '" << output << "'\n";
    return kExitUsage;
  }
  context.output =
      output == "json" ? redrive::cli::OutputFormat::kJson : redrive::cli::OutputFormat::kText;
  if (flags.count("args")) context.args = flags["args"].as<std::vector<std::string>>();
  std::optional<std::string> config_path;
  if (flags.count("config")) config_path = flags["config"].as<std::string>();
  context.config = redrive::config::LoadOrExit(config_path);  // exits 2 naming the key
  return command->second.run(context);
}
