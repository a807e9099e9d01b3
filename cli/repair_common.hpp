#pragma once

#include <boost/program_options.hpp>
#include <exception>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"

namespace pqxx {
class connection_base;
}

// Shared by the repair commands (`dlq`, `review`): subcommand dispatch and the rules every
// mutating command follows (a --reason, an actor, database errors without passwords).
namespace redrive::cli::repair {

struct Subcommand {
  std::string name;
  std::string summary;
  std::function<int(const Context&)> run;  // context.args: after the subcommand's name
};

// `redrivectl GROUP SUB ...`: runs SUB with the rest of the arguments. No subcommand or an
// unknown one prints the group's usage and returns kExitUsage; --help prints it and 0.
int RunSubcommand(const Context& context, const std::string& group,
                  const std::vector<Subcommand>& subcommands);

// The --reason every mutating command requires: its trimmed value, or nullopt after
// printing "<command>: --reason is required ..." (the caller returns kExitUsage).
std::optional<std::string> RequireReason(const std::string& command,
                                         const boost::program_options::variables_map& values);

// Runs `work` on redrivectl's connection to the configured database. Database failures
// come out as exceptions (pg::DatabaseError) without any password in their message.
void WithConnection(const Context& context,
                    const std::function<void(pqxx::connection_base&)>& work);

// Prints "<command>: <what>" without any password and returns kExitFailure.
int DatabaseFailure(const std::string& command, const std::exception& error);

// Cuts `text` to `max` characters (with "..."), on one line: for table cells.
std::string Cell(const std::string& text, std::size_t max = 60);

// 8-4-4-4-12 hexadecimal digits.
bool IsUuid(const std::string& text);

template <typename T>
nlohmann::json Nullable(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

// `dlq list|show|replay|discard` and `review list|resolve`.
int RunDlq(const Context& context);
int RunReview(const Context& context);

}  // namespace redrive::cli::repair
