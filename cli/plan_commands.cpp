// `redrivectl plan`: the controller's own reconcilers, run in plan mode against the database
// as it is now. Read-only from end to end: no lease, no fenced write, no audit row, and the
// session itself is read-only, so a write that slipped through would fail, not land.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <random>

#include "cli/commands.hpp"
#include "cli/flags.hpp"
#include "cli/output.hpp"
#include "controller/reconcilers/all_reconcilers.hpp"
#include "core/decide/circuit_breaker.hpp"
#include "core/http/gateway_lookup.hpp"
#include "core/metrics/controller_metrics.hpp"
#include "core/pg/connect.hpp"
#include "core/pg/leader_lease.hpp"
#include "core/runtime/log.hpp"
#include "core/runtime/system_clock.hpp"
#include "core/runtime/version.hpp"

namespace redrive::cli {
namespace {

namespace po = boost::program_options;
using std::chrono::milliseconds;

constexpr const char* kUsage = "redrivectl plan [--limit N] [-o text|json]";
constexpr const char* kPlanInstance = "redrivectl-plan";
// A plan must not hang on a dead gateway: each lookup gets at most this long, and the first
// failure opens the breaker, so every later lookup answers "unreachable" at once.
constexpr milliseconds kMaxLookupTimeout{1000};

struct Lease {
  std::string holder;  // "" when nobody holds it
  std::int64_t epoch = 0;
  double expires_in_seconds = 0;  // 0 when free or expired
};

Lease ReadLease(pqxx::connection_base& connection) {
  pqxx::read_transaction tx(connection, "plan_lease");
  const pqxx::result rows = tx.exec_params(
      "SELECT CASE WHEN expires_at > now() THEN coalesce(holder, '') ELSE '' END, epoch, "
      "CASE WHEN expires_at > now() THEN extract(epoch FROM expires_at - now())::float8 "
      "ELSE 0 END FROM controller_leases WHERE name = $1",
      std::string(pg::kControllerLease));
  tx.commit();
  if (rows.empty()) return {};
  return {.holder = rows[0][0].as<std::string>(),
          .epoch = rows[0][1].as<std::int64_t>(),
          .expires_in_seconds = rows[0][2].as<double>()};
}

struct ReconcilerPlan {
  std::string name;
  controller::ReconcileResult result;
  std::size_t first = 0;  // its actions in the plan: [first, end)
  std::size_t end = 0;
};

struct Plan {
  Lease lease;
  std::string cycle_id;
  std::size_t budget = 0;
  std::size_t budget_left = 0;
  std::vector<controller::PlannedAction> actions;
  std::vector<ReconcilerPlan> reconcilers;
};

// The gateway client a plan asks, when the configuration names one.
struct PlanGateway {
  explicit PlanGateway(const config::Gateway& settings)
      : breaker(clock, {.failure_threshold = 1, .open_for = std::chrono::hours(1)}) {
    const auto endpoint = http::ParseHttpUrl(settings.url);
    if (settings.url.empty() || !endpoint) return;
    client.emplace(*endpoint, std::min(milliseconds(settings.timeout_ms), kMaxLookupTimeout), clock,
                   breaker);
  }
  runtime::SystemClock clock;
  decide::CircuitBreaker breaker;
  std::optional<http::GatewayLookupClient> client;
};

Plan ComputePlan(const config::Config& config) {
  auto connection = pg::Connect(config.database, kPlanInstance);
  {
    pqxx::nontransaction tx(*connection, "plan_read_only");
    tx.exec("SET default_transaction_read_only = on");
  }
  Plan plan;
  plan.lease = ReadLease(*connection);
  plan.cycle_id = pg::BeginCycle(*connection).cycle_id;  // a uuid from the database; no write
  plan.budget = static_cast<std::size_t>(std::max(config.controller.redrive_budget, 0));

  PlanGateway gateway(config.gateway);
  metrics::Registry registry({.component = "redrivectl", .version = kRedriveVersion});
  metrics::ControllerMetrics metrics(registry);
  decide::RedriveBudget budget(plan.budget, /*gateway_breaker_open=*/false);
  std::mt19937_64 random{std::random_device{}()};
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  controller::CycleContext context{
      .config = config,
      .fence = {.lease_name = pg::kControllerLease,
                .holder = kPlanInstance,
                .epoch = plan.lease.epoch},
      .instance_id = kPlanInstance,
      .cycle_id = plan.cycle_id,
      .dry_run = true,
      .budget = budget,
      .metrics = metrics,
      .with_connection =
          [&](const std::function<void(pqxx::connection_base&)>& work) { work(*connection); },
      .gateway = gateway.client ? &*gateway.client : nullptr,
      .uniform01 = [&] { return unit(random); },
      .plan = &plan.actions,
  };
  for (const auto& reconciler : controller::BuildReconcilers()) {
    ReconcilerPlan entry;
    entry.name = std::string(reconciler->name());
    entry.first = plan.actions.size();
    try {
      entry.result = reconciler->Reconcile(context);
    } catch (const std::exception& error) {
      entry.result.error = error.what();
    }
    entry.end = plan.actions.size();
    plan.reconcilers.push_back(std::move(entry));
  }
  plan.budget_left = budget.remaining();
  return plan;
}

// "release 1, dead_letter 2", in the order the actions first appear.
std::vector<std::pair<std::string, int>> CountActions(const Plan& plan, const ReconcilerPlan& of) {
  std::vector<std::pair<std::string, int>> counts;
  for (std::size_t i = of.first; i < of.end; ++i) {
    const std::string& action = plan.actions[i].action;
    auto found = std::find_if(counts.begin(), counts.end(),
                              [&](const auto& count) { return count.first == action; });
    if (found == counts.end()) {
      counts.emplace_back(action, 1);
    } else {
      ++found->second;
    }
  }
  return counts;
}

std::string SummaryLine(const Plan& plan, const ReconcilerPlan& of) {
  std::string line = of.name + ": ";
  const auto counts = CountActions(plan, of);
  if (counts.empty()) {
    line += "nothing to do";
  } else {
    line += std::to_string(of.end - of.first) + " planned (";
    for (std::size_t i = 0; i < counts.size(); ++i) {
      line += (i == 0 ? "" : ", ") + counts[i].first + " " + std::to_string(counts[i].second);
    }
    line += ")";
  }
  if (of.result.deferred > 0) {
    line += ", " + std::to_string(of.result.deferred) + " left for a later cycle";
  }
  if (of.result.error) line += ", failed: " + config::RedactSecrets(*of.result.error);
  return line;
}

nlohmann::json Optional(const std::optional<std::string>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json Optional(const std::optional<int>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json PlanJson(const Plan& plan, std::size_t printed) {
  nlohmann::json actions = nlohmann::json::array();
  nlohmann::json summary = nlohmann::json::array();
  for (const auto& of : plan.reconcilers) {
    for (std::size_t i = of.first; i < of.end && i < printed; ++i) {
      const auto& planned = plan.actions[i];
      actions.push_back({{"reconciler", of.name},
                         {"rule", planned.audit.rule},
                         {"action", planned.action},
                         {"target", planned.target},
                         {"order_id", Optional(planned.audit.order_id)},
                         {"event_id", Optional(planned.audit.event_id)},
                         {"state_before", Optional(planned.audit.state_before)},
                         {"version_before", Optional(planned.audit.version_before)},
                         {"state_after", Optional(planned.audit.state_after)},
                         {"version_after", Optional(planned.audit.version_after)},
                         {"outcome", planned.audit.outcome},
                         {"reason", planned.audit.reason}});
    }
    nlohmann::json counts = nlohmann::json::object();
    for (const auto& [action, count] : CountActions(plan, of)) counts[action] = count;
    summary.push_back(
        {{"reconciler", of.name},
         {"planned", of.end - of.first},
         {"actions", counts},
         {"deferred", of.result.deferred},
         {"error", of.result.error ? nlohmann::json(config::RedactSecrets(*of.result.error))
                                   : nlohmann::json(nullptr)}});
  }
  return {{"read_only", true},
          {"cycle_id", plan.cycle_id},
          {"leader", plan.lease.holder.empty()
                         ? nlohmann::json(nullptr)
                         : nlohmann::json{{"holder", plan.lease.holder},
                                          {"epoch", plan.lease.epoch},
                                          {"expires_in_seconds", plan.lease.expires_in_seconds}}},
          {"budget", plan.budget},
          {"budget_left", plan.budget_left},
          {"total_actions", plan.actions.size()},
          {"truncated", printed < plan.actions.size()},
          {"actions", actions},
          {"summary", summary}};
}

void PrintPlanText(const Plan& plan, std::size_t printed) {
  std::cout << "plan for the next cycle (read-only: nothing was written, no lease was taken)\n";
  if (plan.lease.holder.empty()) {
    std::cout << "leader: none (the lease is free or expired; epoch " << plan.lease.epoch << ")\n";
  } else {
    std::cout << "leader: " << plan.lease.holder << " (epoch " << plan.lease.epoch
              << ", lease expires in " << HumanDuration(plan.lease.expires_in_seconds) << ")\n";
  }
  std::cout << "budget: " << plan.budget << " re-drives per cycle, " << plan.budget_left
            << " left after this plan\n\n";

  if (plan.actions.empty()) {
    std::cout << "nothing to do\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (std::size_t i = 0; i < plan.actions.size() && i < printed; ++i) {
      const auto& planned = plan.actions[i];
      rows.push_back({planned.audit.rule, planned.action, planned.target, planned.audit.reason});
    }
    PrintTable(std::cout, {"RULE", "ACTION", "TARGET", "REASON"}, rows);
    if (printed < plan.actions.size()) {
      std::cout << "... " << plan.actions.size() - printed
                << " more not shown (--limit 0 shows all)\n";
    }
  }
  std::cout << "\n";
  for (const auto& of : plan.reconcilers) std::cout << SummaryLine(plan, of) << "\n";
}

int RunPlan(const Context& context) {
  po::options_description options("plan options");
  options.add_options()("limit", po::value<int>()->default_value(100),
                        "print at most N planned actions (0: all); the summary counts them all");
  const auto parsed = ParseCommandFlags(kUsage, context.args, options);
  if (!parsed) return kExitUsage;
  if (parsed->help_requested) {
    std::cout
        << "\nRuns the controller's reconcilers read-only against the database as it is now\n"
           "and prints what the next cycle would do. Needs no running controller and does\n"
           "not take the lease; writes nothing, not even audit rows. Gateway lookups (reads)\n"
           "are made when gateway.url is set; an unreachable gateway means \"wait\".\n";
    return kExitOk;
  }
  const int limit = parsed->values["limit"].as<int>();
  if (limit < 0) {
    std::cerr << "redrivectl plan: --limit must be 0 (all) or more, got " << limit << "\n";
    return kExitUsage;
  }

  // The reconcilers narrate what they do as if they acted; here the plan is the output.
  log::SetLevel(log::Level::kError);
  Plan plan;
  try {
    plan = ComputePlan(context.config);
  } catch (const std::exception& error) {
    std::cerr << "redrivectl plan: " << config::RedactSecrets(error.what()) << "\n";
    return kExitFailure;
  }
  const std::size_t printed = limit == 0
                                  ? plan.actions.size()
                                  : std::min(plan.actions.size(), static_cast<std::size_t>(limit));
  if (context.output == OutputFormat::kJson) {
    std::cout << PlanJson(plan, printed).dump() << "\n";
  } else {
    PrintPlanText(plan, printed);
  }
  int exit_code = kExitOk;
  for (const auto& of : plan.reconcilers) {
    if (!of.result.error) continue;
    std::cerr << "redrivectl plan: " << of.name
              << " failed: " << config::RedactSecrets(*of.result.error) << "\n";
    exit_code = kExitFailure;
  }
  return exit_code;
}

}  // namespace

std::vector<Command> PlanCommands() {
  return {
      {"plan", "print what the controller's next cycle would do (read-only, no lease)", RunPlan}};
}

}  // namespace redrive::cli
