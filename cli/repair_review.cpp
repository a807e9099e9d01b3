// redrivectl review list|resolve: the orders automation handed to a human.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>

#include "cli/flags.hpp"
#include "cli/output.hpp"
#include "cli/repair_common.hpp"
#include "core/domain/order_state.hpp"
#include "core/pg/ops_repair.hpp"

namespace redrive::cli::repair {

namespace {

namespace po = boost::program_options;

constexpr const char* kListUsage = "redrivectl review list [--limit N]";
constexpr const char* kResolveUsage =
    "redrivectl review resolve ORDER --as PAID|FAILED --reason WHY [--dry-run] [--actor NAME]";

std::string Amount(long long cents, const std::string& currency) {
  char text[48];
  std::snprintf(text, sizeof text, "%s%lld.%02lld %s", cents < 0 ? "-" : "",
                std::llabs(cents) / 100, std::llabs(cents) % 100, currency.c_str());
  return text;
}

int RunList(const Context& context) {
  const std::string command = "redrivectl review list";
  po::options_description options("review list: orders in NEEDS_REVIEW, longest waiting first");
  options.add_options()("limit", po::value<int>()->default_value(100), "show at most N");
  const auto flags = ParseCommandFlags(kListUsage, context.args, options);
  if (!flags) return kExitUsage;
  if (flags->help_requested) return kExitOk;
  const int limit = flags->values["limit"].as<int>();
  if (limit < 1) {
    std::cerr << command << ": --limit must be at least 1\n";
    return kExitUsage;
  }

  pg::ReviewPage page;
  try {
    WithConnection(context, [&](pqxx::connection_base& connection) {
      page = pg::ListNeedsReview(connection, limit);
    });
  } catch (const std::exception& error) {
    return DatabaseFailure(command, error);
  }

  if (context.output == OutputFormat::kJson) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : page.rows) {
      rows.push_back({{"order_id", row.id},
                      {"in_review_seconds", row.in_review_seconds},
                      {"amount_cents", row.amount_cents},
                      {"currency", row.currency},
                      {"redrive_count", row.redrive_count},
                      {"version", row.version},
                      {"last_reason", Nullable(row.last_reason)}});
    }
    std::cout << nlohmann::json{{"orders", rows}, {"total", page.total}, {"limit", limit}}.dump()
              << "\n";
    return kExitOk;
  }
  if (page.rows.empty()) {
    std::cout << "no orders in NEEDS_REVIEW\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& row : page.rows) {
    rows.push_back({row.id, HumanDuration(row.in_review_seconds),
                    Amount(row.amount_cents, row.currency), std::to_string(row.redrive_count),
                    std::to_string(row.version), Cell(row.last_reason.value_or("-"), 80)});
  }
  PrintTable(std::cout, {"ORDER", "IN REVIEW", "AMOUNT", "REDRIVES", "VERSION", "LAST REASON"},
             rows);
  if (page.total > static_cast<std::int64_t>(page.rows.size())) {
    std::cout << "\nshowing " << page.rows.size() << " of " << page.total
              << " (raise --limit to see more)\n";
  }
  return kExitOk;
}

int RunResolve(const Context& context) {
  const std::string command = "redrivectl review resolve";
  po::options_description options(
      "review resolve: settle an order in NEEDS_REVIEW after checking the gateway by hand "
      "(audited; queues the settlement webhook)");
  options.add_options()("order", po::value<std::string>(), "the order id")(
      "as", po::value<std::string>(), "PAID or FAILED")("reason", po::value<std::string>(),
                                                        "why (required; recorded in redrive_log)")(
      "dry-run", po::bool_switch(), "print what would be done; write nothing")(
      "actor", po::value<std::string>(), "who to record as operator:NAME (default: the OS user)");
  po::positional_options_description positional;
  positional.add("order", 1);
  const auto flags = ParseCommandFlags(kResolveUsage, context.args, options, positional);
  if (!flags) return kExitUsage;
  if (flags->help_requested) return kExitOk;
  const auto& values = flags->values;

  if (!values.count("order")) {
    std::cerr << command << ": which order? usage: " << kResolveUsage << "\n";
    return kExitUsage;
  }
  const std::string order_id = values["order"].as<std::string>();
  if (!IsUuid(order_id)) {
    std::cerr << command << ": ORDER must be an order id (a uuid), got '" << order_id << "'\n";
    return kExitUsage;
  }
  std::string target = values.count("as") ? values["as"].as<std::string>() : "";
  std::transform(target.begin(), target.end(), target.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  const auto state = domain::ParseOrderState(target);
  if (!state || !domain::CanOperatorResolve(domain::OrderState::kNeedsReview, *state)) {
    std::cerr << command << ": --as must be PAID or FAILED"
              << (values.count("as") ? ", got '" + values["as"].as<std::string>() + "'" : "")
              << "\n";
    return kExitUsage;
  }
  const auto reason = RequireReason(command, values);
  if (!reason) return kExitUsage;
  const pg::OperatorAction action{
      .actor = OperatorActor(values.count("actor")
                                 ? std::optional<std::string>(values["actor"].as<std::string>())
                                 : std::nullopt),
      .reason = *reason,
      .dry_run = values["dry-run"].as<bool>()};

  pg::ResolveResult result;
  try {
    WithConnection(context, [&](pqxx::connection_base& connection) {
      result = pg::ResolveReview(connection, order_id, *state == domain::OrderState::kPaid, action);
    });
  } catch (const std::exception& error) {
    return DatabaseFailure(command, error);
  }

  std::string outcome;
  switch (result.status) {
    case pg::ResolveStatus::kResolved:
      outcome = action.dry_run ? "dry_run" : "applied";
      break;
    case pg::ResolveStatus::kNotFound:
      outcome = "not_found";
      break;
    case pg::ResolveStatus::kNotInReview:
      outcome = "not_in_review";
      break;
    case pg::ResolveStatus::kConflict:
      outcome = "conflict";
      break;
  }
  if (context.output == OutputFormat::kJson) {
    std::cout << nlohmann::json{{"order_id", order_id},
                                {"outcome", outcome},
                                {"dry_run", action.dry_run},
                                {"actor", action.actor},
                                {"reason", action.reason},
                                {"state_before", result.status == pg::ResolveStatus::kNotFound
                                                     ? nlohmann::json(nullptr)
                                                     : nlohmann::json(result.state_before)},
                                {"version_before", result.status == pg::ResolveStatus::kNotFound
                                                       ? nlohmann::json(nullptr)
                                                       : nlohmann::json(result.version_before)},
                                {"state_after", Nullable(result.state_after)},
                                {"version_after", Nullable(result.version_after)},
                                {"webhook_event_id", Nullable(result.webhook_event_id)}}
                     .dump()
              << "\n";
  }

  const std::string current =
      result.state_before + " (version " + std::to_string(result.version_before) + ")";
  switch (result.status) {
    case pg::ResolveStatus::kResolved:
      if (context.output == OutputFormat::kText) {
        std::cout << (action.dry_run ? "dry run: nothing was written\nwould resolve order "
                                     : "resolved order ")
                  << order_id << ": " << current << " -> " << *result.state_after << " (version "
                  << *result.version_after << ")\n";
        if (result.webhook_event_id) {
          std::cout << "queued "
                    << (*state == domain::OrderState::kPaid ? "PaymentSucceeded" : "PaymentFailed")
                    << " webhook event " << *result.webhook_event_id << "\n";
        }
        std::cout << (action.dry_run ? "would record as " : "recorded as ") << action.actor
                  << " in redrive_log\n";
      }
      return kExitOk;
    case pg::ResolveStatus::kNotFound:
      std::cerr << command << ": no order " << order_id << ": nothing written\n";
      return kExitFailure;
    case pg::ResolveStatus::kNotInReview: {
      const bool settled = result.state_before == "PAID" || result.state_before == "FAILED";
      std::cerr << command << ": order " << order_id << " is not in NEEDS_REVIEW ("
                << (settled ? "already " : "it is ") << result.state_before << ", version "
                << result.version_before << "): nothing written\n";
      return kExitFailure;
    }
    case pg::ResolveStatus::kConflict:
      std::cerr << command << ": order " << order_id << " changed while resolving it (now "
                << result.state_before << ", version " << result.version_before
                << "): nothing written; check it and run the command again\n";
      return kExitFailure;
  }
  return kExitFailure;
}

}  // namespace

int RunReview(const Context& context) {
  return RunSubcommand(
      context, "review",
      {{"list", "orders in NEEDS_REVIEW: age, amount, redrives, last reason", RunList},
       {"resolve", "settle one as PAID or FAILED (--reason required)", RunResolve}});
}

}  // namespace redrive::cli::repair
