#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <vector>

namespace redrive::cli {

// Parses a command's own arguments. On a bad flag (or --help) prints the usage to stderr
// (stdout for --help) and returns nullopt: the caller returns kExitUsage (0 for --help,
// see `help_requested`).
struct ParsedFlags {
  boost::program_options::variables_map values;
  bool help_requested = false;
};

std::optional<ParsedFlags> ParseCommandFlags(
    const std::string& usage, const std::vector<std::string>& args,
    const boost::program_options::options_description& options,
    const boost::program_options::positional_options_description& positional = {});

// Who an operator action is recorded as: "operator:<--actor or the OS user>".
std::string OperatorActor(const std::optional<std::string>& actor);

// Parses "90s", "5m", "2h", "3d" (or plain seconds) into seconds; nullopt when malformed.
std::optional<long long> ParseDurationSeconds(const std::string& text);

}  // namespace redrive::cli
