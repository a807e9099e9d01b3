// `redrivectl plan` on a real PostgreSQL (and a real gateway-sim): the controller's own
// decisions for the next cycle, computed while another controller holds the lease, printed
// as a table and as JSON, and not one byte written to the database.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

#include "core/domain/ids.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redrive_processes.hpp"

namespace {

using namespace redrive;
using namespace redrive::testing;
using json = nlohmann::json;

std::string Quoted(const std::string& text) {
  return "'" + text + "'";
}

// A PAYMENT_PENDING order a payment worker left behind: its payment event completed (its row
// left the outbox for its processed_events record), not touched for 10 minutes (past the default
// controller.stuck_after_seconds of 120).
std::string MakeStuckOrder(const std::string& url, bool charge_requested, int redrive_count = 0) {
  const std::string order = PlaceOrder(url);
  REQUIRE(CompleteOutboxRows(url, "aggregate_id = " + Quoted(order)) == 1);
  Execute(url,
          "UPDATE orders SET state = 'PAYMENT_PENDING', version = version + 1, redrive_count = " +
              std::to_string(redrive_count) + ", charge_requested_at = " +
              (charge_requested ? "now() - interval '5 minutes'" : "NULL") +
              ", updated_at = now() - interval '10 minutes' WHERE id = " + Quoted(order));
  return order;
}

// What the payment worker would have sent: the gateway now knows the order's key.
void ChargeAtGateway(const GatewaySim& gateway, const std::string& order) {
  const json body = {{"order_id", order}, {"amount_cents", 1000}, {"currency", "USD"}};
  const auto reply = HttpRequest("POST", gateway.port(), "/v1/charges", body.dump(),
                                 {{"Content-Type", "application/json"},
                                  {"Idempotency-Key", domain::IdempotencyKeyForOrder(order)}});
  REQUIRE(reply.status == 200);
}

// A payment event claimed by a worker whose lease ran out, created 10 minutes ago (so the
// payment backlog is past the default alert of 300 s). Returns its event id.
std::string ExpiredClaim(const std::string& url) {
  const std::string order = PlaceOrder(url);
  return QueryValue(url,
                    "UPDATE outbox SET claimed_by = 'worker-gone', claimed_until = now() - "
                    "interval '5 seconds', attempts = 1, created_at = now() - interval "
                    "'10 minutes' WHERE aggregate_id = " +
                        Quoted(order) + " RETURNING event_id");
}

// Another controller is the leader, for an hour.
void LeaseHeldBySomeoneElse(const std::string& url) {
  Execute(url,
          "UPDATE controller_leases SET holder = 'someone', epoch = 7, acquired_at = now(), "
          "renewed_at = now(), expires_at = now() + interval '1 hour' "
          "WHERE name = 'redrive-controller'");
}

// Every row of every table a controller cycle could touch, as text.
std::string Snapshot(const std::string& url) {
  std::string all;
  for (const char* table : {"orders", "outbox", "redrive_log", "controller_leases",
                            "dead_letter_events", "processed_events"}) {
    all += std::string(table) + ":" +
           QueryValue(url, std::string("SELECT string_agg(t::text, ';' ORDER BY t::text) FROM ") +
                               table + " t") +
           "\n";
  }
  return all;
}

CommandResult Plan(const std::string& url, const std::string& gateway_url,
                   const std::vector<std::string>& args = {},
                   std::map<std::string, std::string> env = {}) {
  std::vector<std::string> argv = {BinaryPath("redrivectl"), "plan"};
  argv.insert(argv.end(), args.begin(), args.end());
  env.emplace("REDRIVE_DATABASE_URL", url);
  env.emplace("REDRIVE_GATEWAY_URL", gateway_url);
  return RunCommand(argv, env);
}

using Action = std::tuple<std::string, std::string, std::string>;  // rule, action, target

// The (RULE, ACTION, TARGET) cells of the plan table's rows.
std::multiset<Action> TableActions(const std::string& text) {
  std::multiset<Action> actions;
  std::istringstream lines(text);
  std::string line;
  bool in_table = false;
  while (std::getline(lines, line)) {
    std::istringstream cells(line);
    std::string rule, action, target;
    cells >> rule >> action >> target;
    if (rule == "RULE") {
      in_table = true;
      CHECK(action == "ACTION");
      CHECK(target == "TARGET");
      continue;
    }
    if (!in_table) continue;
    if (line.empty() || rule == "...") break;
    actions.insert({rule, action, target});
  }
  return actions;
}

std::multiset<Action> JsonActions(const json& plan) {
  std::multiset<Action> actions;
  for (const auto& action : plan.at("actions")) {
    actions.insert({action.at("rule").get<std::string>(), action.at("action").get<std::string>(),
                    action.at("target").get<std::string>()});
  }
  return actions;
}

const json& JsonAction(const json& plan, const std::string& target) {
  for (const auto& action : plan.at("actions")) {
    if (action.at("target") == target) return action;
  }
  FAIL("no planned action for ", target);
  static const json none;
  return none;
}

const json& JsonSummary(const json& plan, const std::string& reconciler) {
  for (const auto& summary : plan.at("summary")) {
    if (summary.at("reconciler") == reconciler) return summary;
  }
  FAIL("no summary for ", reconciler);
  static const json none;
  return none;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE(
    "redrivectl plan prints the next cycle's actions while another controller holds the lease "
    "and writes nothing") {
  MigratedDatabase database;
  const std::string url = database.Url();
  GatewaySim gateway;
  const std::string never_sent = MakeStuckOrder(url, /*charge_requested=*/false);
  const std::string redrives_spent = MakeStuckOrder(url, false, /*redrive_count=*/5);
  const std::string charged = MakeStuckOrder(url, /*charge_requested=*/true);
  ChargeAtGateway(gateway, charged);
  const std::string unknown_to_gateway = MakeStuckOrder(url, true);
  const std::string claimed_event = ExpiredClaim(url);
  // One record of a consumed event past the default retention of 168 h: the janitor's (the
  // other stuck orders' records are recent and stay).
  Execute(url,
          "UPDATE processed_events SET processed_at = now() - interval '200 hours' WHERE "
          "aggregate_id = " +
              Quoted(never_sent));
  LeaseHeldBySomeoneElse(url);
  const std::string before = Snapshot(url);
  const int captures_before = gateway.LedgerOrders().at(charged).at("captures").get<int>();

  const CommandResult text = Plan(url, gateway.Url());
  INFO("output: ", text.output);
  REQUIRE(text.exit_code == 0);
  CHECK(Snapshot(url) == before);

  const std::multiset<Action> expected = {{"expired_claim", "release", claimed_event},
                                          {"stuck_order", "reemit_payment", never_sent},
                                          {"stuck_order", "needs_review", redrives_spent},
                                          {"stuck_order", "mark_paid", charged},
                                          {"stuck_order", "reemit_payment", unknown_to_gateway},
                                          {"backlog_renotify", "renotify", "payment"},
                                          {"janitor", "delete", "processed_events"}};
  CHECK(TableActions(text.output) == expected);
  CHECK(Contains(text.output, "leader: someone (epoch 7, lease expires in"));
  CHECK(Contains(text.output, "budget: 100 re-drives per cycle, 95 left after this plan"));
  CHECK(Contains(text.output, "expired_claims: 1 planned (release 1)"));
  CHECK(Contains(text.output, "stuck_orders: 4 planned ("));
  CHECK(Contains(text.output, "backlog: 1 planned (renotify 1)"));
  CHECK(Contains(text.output, "janitor: 1 planned (delete 1)"));
  CHECK(Contains(text.output, "consistency: nothing to do"));
  CHECK(Contains(text.output, "would delete 1 processed_events rows past retention"));

  const CommandResult as_json = Plan(url, gateway.Url(), {"-o", "json"});
  INFO("json: ", as_json.output);
  REQUIRE(as_json.exit_code == 0);
  CHECK(Snapshot(url) == before);
  const json plan = json::parse(as_json.output);
  CHECK(JsonActions(plan) == expected);
  CHECK(plan.at("read_only") == true);
  CHECK(plan.at("leader").at("holder") == "someone");
  CHECK(plan.at("leader").at("epoch") == 7);
  CHECK(plan.at("budget") == 100);
  CHECK(plan.at("budget_left") == 95);
  CHECK(plan.at("total_actions") == 7);
  CHECK(plan.at("truncated") == false);
  for (const auto& action : plan.at("actions")) CHECK(action.at("outcome") == "planned");

  const json& paid = JsonAction(plan, charged);
  CHECK(paid.at("reconciler") == "stuck_orders");
  CHECK(paid.at("order_id") == charged);
  CHECK(paid.at("state_before") == "PAYMENT_PENDING");
  CHECK(paid.at("version_before") == 2);
  CHECK(paid.at("state_after") == "PAID");
  CHECK(paid.at("version_after") == 3);
  CHECK(paid.at("reason") == "gateway_succeeded");
  CHECK(JsonAction(plan, unknown_to_gateway).at("reason") == "gateway_not_found");
  CHECK(JsonAction(plan, redrives_spent).at("state_after") == "NEEDS_REVIEW");
  // Completed outbox rows are gone at once: the janitor only trims the records.
  const json& janitor = JsonAction(plan, "processed_events");
  CHECK(janitor.at("reconciler") == "janitor");
  CHECK(janitor.at("reason") == "would delete 1 processed_events rows past retention");

  const json& claim = JsonAction(plan, claimed_event);
  CHECK(claim.at("event_id") == claimed_event);
  CHECK(claim.at("order_id").is_string());
  CHECK(Contains(claim.at("reason").get<std::string>(), "lease of worker-gone expired"));
  CHECK(JsonSummary(plan, "stuck_orders").at("actions") ==
        json{{"reemit_payment", 2}, {"needs_review", 1}, {"mark_paid", 1}});
  CHECK(JsonSummary(plan, "consistency").at("planned") == 0);

  // Asking the gateway is a read: it charged nothing.
  CHECK(gateway.LedgerOrders().at(charged).at("captures").get<int>() == captures_before);
  CHECK(gateway.LedgerOrders().count(unknown_to_gateway) == 0);
}

TEST_CASE("redrivectl plan waits for an unreachable gateway instead of guessing") {
  MigratedDatabase database;
  const std::string url = database.Url();
  const std::string sent = MakeStuckOrder(url, /*charge_requested=*/true);
  const std::string before = Snapshot(url);
  const std::string nobody = "http://127.0.0.1:" + std::to_string(FreeLoopbackPort());

  const CommandResult result = Plan(url, nobody, {"-o", "json"});
  INFO("output: ", result.output);
  REQUIRE(result.exit_code == 0);
  const json plan = json::parse(result.output);
  REQUIRE(plan.at("actions").size() == 1);
  const json& wait = plan.at("actions").at(0);
  CHECK(wait.at("action") == "wait");
  CHECK(wait.at("target") == sent);
  CHECK(wait.at("reason") == "gateway_unreachable");
  CHECK(wait.at("state_after").is_null());
  CHECK(JsonSummary(plan, "stuck_orders").at("deferred") == 1);
  CHECK(plan.at("leader").is_null());
  CHECK(Snapshot(url) == before);
}

TEST_CASE("redrivectl plan spends the configured budget and leaves the rest for a later cycle") {
  MigratedDatabase database;
  const std::string url = database.Url();
  for (int i = 0; i < 3; ++i) MakeStuckOrder(url, /*charge_requested=*/false);
  const std::string nobody = "http://127.0.0.1:" + std::to_string(FreeLoopbackPort());

  const CommandResult result = Plan(url, nobody, {}, {{"REDRIVE_CONTROLLER_REDRIVE_BUDGET", "2"}});
  INFO("output: ", result.output);
  REQUIRE(result.exit_code == 0);
  CHECK(TableActions(result.output).size() == 2);
  CHECK(Contains(result.output, "budget: 2 re-drives per cycle, 0 left after this plan"));
  CHECK(Contains(result.output,
                 "stuck_orders: 2 planned (reemit_payment 2), 1 left for a later cycle"));
}

TEST_CASE("redrivectl plan --limit caps the rows printed while the summary counts them all") {
  MigratedDatabase database;
  const std::string url = database.Url();
  for (int i = 0; i < 4; ++i) MakeStuckOrder(url, /*charge_requested=*/false);
  const std::string nobody = "http://127.0.0.1:" + std::to_string(FreeLoopbackPort());

  const CommandResult text = Plan(url, nobody, {"--limit", "1"});
  INFO("output: ", text.output);
  REQUIRE(text.exit_code == 0);
  CHECK(TableActions(text.output).size() == 1);
  CHECK(Contains(text.output, "... 3 more not shown (--limit 0 shows all)"));
  CHECK(Contains(text.output, "stuck_orders: 4 planned (reemit_payment 4)"));

  const CommandResult as_json = Plan(url, nobody, {"--limit", "2", "-o", "json"});
  REQUIRE(as_json.exit_code == 0);
  const json plan = json::parse(as_json.output);
  CHECK(plan.at("actions").size() == 2);
  CHECK(plan.at("total_actions") == 4);
  CHECK(plan.at("truncated") == true);
  CHECK(JsonSummary(plan, "stuck_orders").at("planned") == 4);

  CHECK(Plan(url, nobody, {"--limit", "-1"}).exit_code == 2);
  CHECK(Plan(url, nobody, {"--bogus"}).exit_code == 2);
}

TEST_CASE("redrivectl plan on a quiet database says there is nothing to do") {
  MigratedDatabase database;
  const std::string nobody = "http://127.0.0.1:" + std::to_string(FreeLoopbackPort());
  const CommandResult result = Plan(database.Url(), nobody);
  INFO("output: ", result.output);
  REQUIRE(result.exit_code == 0);
  CHECK(Contains(result.output, "nothing to do\n"));
  CHECK(Contains(result.output, "leader: none"));
  CHECK(QueryValue(database.Url(), "SELECT count(*) FROM redrive_log") == "0");
}

TEST_CASE("redrivectl plan fails with a message when the database is unreachable") {
  const std::string nobody = "http://127.0.0.1:" + std::to_string(FreeLoopbackPort());
  const CommandResult result = Plan(
      "postgresql://redrive@127.0.0.1:" + std::to_string(FreeLoopbackPort()) + "/none", nobody);
  CHECK(result.exit_code == 1);
  CHECK(Contains(result.output, "redrivectl plan: "));
}
