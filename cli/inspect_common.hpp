#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.hpp"

namespace pqxx {
class connection_base;
}

// Shared by the read-only commands (status, orders ...): database access with one error
// policy, and one way to print the database's times.
namespace redrive::cli::inspect {

// Runs `work` on a connection tagged "redrivectl". A database failure prints
// "redrivectl <command>: <why>" (any password removed) to stderr and returns kExitFailure;
// otherwise returns what `work` returned.
int WithDatabase(const Context& context, std::string_view command,
                 const std::function<int(pqxx::connection_base&)>& work);

// Unix seconds (as the database gave them) -> "2024-05-01T12:00:00.123Z", UTC.
std::string FormatTime(double epoch_seconds);

// FormatTime, or JSON null.
nlohmann::json TimeOrNull(const std::optional<double>& epoch_seconds);

// "3m12s ago" / "in 12s" for a time relative to the database's now().
std::string Ago(double seconds);

// `orders` / `order` subcommands (inspect_orders.cpp); `args` are those after the
// subcommand's name.
int RunOrdersStuck(const Context& context, const std::vector<std::string>& args);
int RunOrderShow(const Context& context, const std::vector<std::string>& args);
int RunOrdersPlace(const Context& context, const std::vector<std::string>& args);

}  // namespace redrive::cli::inspect
