// status, and the `orders` / `order` command group (its subcommands: inspect_orders.cpp).
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/flags.hpp"
#include "cli/inspect_common.hpp"
#include "cli/output.hpp"
#include "core/decide/stuck_order.hpp"
#include "core/pg/ops_inspect.hpp"

namespace redrive::cli {

namespace {

namespace po = boost::program_options;
using inspect::Ago;
using inspect::FormatTime;
using inspect::TimeOrNull;

constexpr const char* kOrderStates[] = {"CREATED", "PAYMENT_PENDING", "PAID", "FAILED",
                                        "NEEDS_REVIEW"};

constexpr const char* kLastActionNote =
    "newest redrive_log row not written by an operator: a sign of life, not proof that a "
    "cycle succeeded; the last successful reconcile is only in the controller's "
    "redrive_last_successful_reconcile_timestamp_seconds metric";

std::string Count(std::int64_t value) {
  return std::to_string(value);
}

std::string LeaseState(const pg::LeaseStatus& lease) {
  if (lease.held) return "held";
  // A release also resets expires_at to -infinity; only the epoch tells it from a lease
  // nobody ever took (every takeover bumps it).
  if (!lease.holder) return lease.epoch > 0 ? "released" : "never taken";
  return "expired";
}

nlohmann::json StatusJson(const pg::SystemStatus& status) {
  nlohmann::json consumers = nlohmann::json::array();
  for (const auto& c : status.consumers) {
    consumers.push_back(
        {{"consumer", c.consumer},
         {"pending", c.pending},
         {"oldest_pending_age_seconds", c.oldest_pending_age_seconds
                                            ? nlohmann::json(*c.oldest_pending_age_seconds)
                                            : nlohmann::json(nullptr)},
         {"in_flight_claims", c.in_flight_claims},
         {"expired_claims", c.expired_claims},
         {"open_dead_letters", c.open_dead_letters}});
  }
  nlohmann::json by_state = nlohmann::json::object();
  for (const char* state : kOrderStates) {
    const auto found = status.orders_by_state.find(state);
    by_state[state] = found == status.orders_by_state.end() ? nlohmann::json(nullptr)
                                                            : nlohmann::json(found->second);
  }
  nlohmann::json leases = nlohmann::json::array();
  for (const auto& lease : status.leases) {
    leases.push_back(
        {{"lease", lease.name},
         {"holder", lease.holder ? nlohmann::json(*lease.holder) : nullptr},
         {"epoch", lease.epoch},
         {"held", lease.held},
         {"state", LeaseState(lease)},
         {"expires_at", TimeOrNull(lease.expires_at)},
         {"expires_in_seconds", lease.expires_in_seconds ? nlohmann::json(*lease.expires_in_seconds)
                                                         : nlohmann::json(nullptr)}});
  }
  nlohmann::json last = nullptr;
  if (status.last_controller_action) {
    const auto& action = *status.last_controller_action;
    last = {{"at", FormatTime(action.at)},
            {"age_seconds", action.age_seconds},
            {"actor", action.actor},
            {"rule", action.rule},
            {"outcome", action.outcome}};
  }
  return {{"database_time", FormatTime(status.database_now)},
          {"consumers", consumers},
          {"orders", {{"by_state", by_state}, {"settled_counted", status.settled_counted}}},
          {"stuck_orders",
           {{"stuck_after_seconds", status.stuck_after_seconds},
            {"never_sent", status.stuck_never_sent},
            {"outcome_unknown", status.stuck_outcome_unknown},
            {"total", status.stuck_never_sent + status.stuck_outcome_unknown}}},
          {"needs_review", status.needs_review},
          {"leases", leases},
          {"last_controller_action", last},
          {"last_controller_action_note", kLastActionNote}};
}

void PrintStatus(const pg::SystemStatus& status) {
  std::cout << "redrive status at " << FormatTime(status.database_now) << " (database time)\n\n";

  std::vector<std::vector<std::string>> consumers;
  for (const auto& c : status.consumers) {
    consumers.push_back(
        {c.consumer, Count(c.pending),
         c.oldest_pending_age_seconds ? HumanDuration(*c.oldest_pending_age_seconds) : "-",
         Count(c.in_flight_claims), Count(c.expired_claims), Count(c.open_dead_letters)});
  }
  PrintTable(
      std::cout,
      {"CONSUMER", "PENDING", "OLDEST PENDING", "IN FLIGHT", "EXPIRED CLAIMS", "OPEN DEAD LETTERS"},
      consumers);

  std::cout << "\n";
  std::vector<std::vector<std::string>> states;
  for (const char* state : kOrderStates) {
    const auto found = status.orders_by_state.find(state);
    states.push_back({state, found == status.orders_by_state.end() ? "?" : Count(found->second)});
  }
  PrintTable(std::cout, {"STATE", "ORDERS"}, states);
  if (!status.settled_counted) {
    std::cout << "(PAID and FAILED not counted: the full count of orders hit "
                 "database.statement_timeout_ms)\n";
  }

  std::cout << "\nstuck orders: PAYMENT_PENDING, untouched for "
            << HumanDuration(static_cast<double>(status.stuck_after_seconds))
            << ", no pending payment event\n";
  PrintTable(std::cout, {"CLASS", "ORDERS"},
             {{std::string(decide::ToString(decide::StuckClass::kNeverSent)),
               Count(status.stuck_never_sent)},
              {std::string(decide::ToString(decide::StuckClass::kOutcomeUnknown)),
               Count(status.stuck_outcome_unknown)}});

  std::cout << "\nneeds review: " << status.needs_review
            << (status.needs_review > 0 ? " (redrivectl review list)" : "") << "\n\n";

  std::vector<std::vector<std::string>> leases;
  for (const auto& lease : status.leases) {
    std::string expires = "-";
    if (lease.expires_at) {
      expires = FormatTime(*lease.expires_at);
      if (lease.expires_in_seconds) expires += " (" + Ago(-*lease.expires_in_seconds) + ")";
    }
    leases.push_back(
        {lease.name, lease.holder.value_or("-"), Count(lease.epoch), LeaseState(lease), expires});
  }
  PrintTable(std::cout, {"LEASE", "LEADER", "EPOCH", "STATE", "EXPIRES"}, leases);

  std::cout << "\nlast controller action (" << kLastActionNote << "):\n  ";
  if (status.last_controller_action) {
    const auto& action = *status.last_controller_action;
    std::cout << FormatTime(action.at) << " (" << Ago(action.age_seconds) << ") by " << action.actor
              << ": " << action.rule << " " << action.outcome << "\n";
  } else {
    std::cout << "none recorded\n";
  }
}

int RunStatus(const Context& context) {
  po::options_description options("status options");
  const auto parsed = ParseCommandFlags("redrivectl status", context.args, options);
  if (!parsed) return kExitUsage;
  if (parsed->help_requested) {
    std::cout << "\nPer consumer backlog, claims and dead letters; orders by state; stuck "
                 "orders by class\n(controller.stuck_after_seconds); the leader lease; the "
                 "controller's last action.\nRead-only.\n";
    return kExitOk;
  }
  const auto stuck_after = std::chrono::seconds(context.config.controller.stuck_after_seconds);
  return inspect::WithDatabase(context, "status", [&](pqxx::connection_base& connection) {
    const pg::SystemStatus status = pg::ReadSystemStatus(connection, stuck_after);
    if (context.output == OutputFormat::kJson) {
      std::cout << StatusJson(status).dump() << "\n";
    } else {
      PrintStatus(status);
    }
    return kExitOk;
  });
}

constexpr const char* kOrdersUsage =
    "usage: redrivectl orders SUBCOMMAND [ARGS]\n\n"
    "  stuck [--older-than 5m] [--limit N]   stuck PAYMENT_PENDING orders, oldest first\n"
    "  show ID                               one order and its history as one timeline\n"
    "  place --count N [--amount-range A-B] [--currency USD] [--rate R/s] [--customer C]\n"
    "                                        place demo orders through place_order()\n\n"
    "`redrivectl order show ID` is the same as `redrivectl orders show ID`.\n"
    "`redrivectl orders SUBCOMMAND --help` shows a subcommand's flags.\n";

int RunOrders(const Context& context, const std::string& name) {
  if (context.args.empty()) {
    std::cerr << "redrivectl " << name << ": missing subcommand\n\n" << kOrdersUsage;
    return kExitUsage;
  }
  const std::string& sub = context.args.front();
  if (sub == "-h" || sub == "--help" || sub == "help") {
    std::cout << kOrdersUsage;
    return kExitOk;
  }
  const std::vector<std::string> rest(context.args.begin() + 1, context.args.end());
  if (sub == "stuck") return inspect::RunOrdersStuck(context, rest);
  if (sub == "show") return inspect::RunOrderShow(context, rest);
  if (sub == "place") return inspect::RunOrdersPlace(context, rest);
  std::cerr << "redrivectl " << name << ": unknown subcommand '" << sub << "'\n\n" << kOrdersUsage;
  return kExitUsage;
}

}  // namespace

std::vector<Command> InspectCommands() {
  return {
      {"status", "backlog, claims, dead letters, orders by state, stuck orders, leader (read-only)",
       RunStatus},
      {"orders", "orders stuck | show ID | place --count N (demo orders)",
       [](const Context& context) { return RunOrders(context, "orders"); }},
      {"order", "alias of `orders`: order show ID",
       [](const Context& context) { return RunOrders(context, "order"); }},
  };
}

}  // namespace redrive::cli
