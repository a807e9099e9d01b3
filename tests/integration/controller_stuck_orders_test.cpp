// The stuck-orders reconciler on real PostgreSQL and a real gateway-sim over loopback: every
// classification branch, the guards (version, fence, budget, breaker) and dry run. The
// gateway's ledger is the oracle for "never charged twice".
#include <doctest/doctest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "controller/reconcilers/stuck_orders_reconciler.hpp"
#include "core/decide/circuit_breaker.hpp"
#include "core/domain/ids.hpp"
#include "core/http/gateway_lookup.hpp"
#include "core/metrics/metrics.hpp"
#include "core/pg/leader_lease.hpp"
#include "core/runtime/system_clock.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redrive_processes.hpp"

namespace {

using namespace redrive;
using namespace redrive::testing;
using namespace std::chrono_literals;

constexpr const char* kInstance = "controller-test";

int Count(const std::string& url, const std::string& sql) {
  return std::stoi(QueryValue(url, sql));
}

std::string Quoted(const std::string& id) {
  return "'" + id + "'";
}

std::string OrderValue(const std::string& url, const std::string& order,
                       const std::string& column) {
  return QueryValue(url, "SELECT " + column + " FROM orders WHERE id = " + Quoted(order));
}

// The order's payment events, live (in the outbox) or consumed (in processed_events).
int PaymentEvents(const std::string& url, const std::string& order) {
  return Count(
      url, "SELECT (SELECT count(*) FROM outbox WHERE consumer = 'payment' AND aggregate_id = " +
               Quoted(order) +
               ") + (SELECT count(*) FROM processed_events WHERE consumer = 'payment' AND "
               "aggregate_id = " +
               Quoted(order) + ")");
}

// Every event queued so far, live or consumed.
int AllEvents(const std::string& url, const std::string& consumer = "payment") {
  return Count(url, "SELECT (SELECT count(*) FROM outbox WHERE consumer = '" + consumer +
                        "') + (SELECT count(*) FROM processed_events WHERE consumer = '" +
                        consumer + "')");
}

int AuditRows(const std::string& url, const std::string& where = "true") {
  return Count(url, "SELECT count(*) FROM redrive_log WHERE " + where);
}

struct StuckOrderSpec {
  bool charge_requested = false;
  int redrive_count = 0;
  std::string charge_requested_ago = "5 minutes";
  std::string untouched_for = "10 minutes";
  bool event_completed = true;  // false: the payment event is left in the outbox
};

// An order a payment worker left behind: PAYMENT_PENDING, its payment event completed, not
// touched for a while (a write that sets updated_at keeps it).
std::string MakeStuckOrder(const std::string& url, const StuckOrderSpec& spec = {}) {
  const std::string order = PlaceOrder(url);
  if (spec.event_completed) {
    REQUIRE(CompleteOutboxRows(url, "aggregate_id = " + Quoted(order)) == 1);
  }
  Execute(url,
          "UPDATE orders SET state = 'PAYMENT_PENDING', version = version + 1, "
          "redrive_count = " +
              std::to_string(spec.redrive_count) + ", charge_requested_at = " +
              (spec.charge_requested ? "now() - interval '" + spec.charge_requested_ago + "'"
                                     : std::string("NULL")) +
              ", updated_at = now() - interval '" + spec.untouched_for +
              "' WHERE id = " + Quoted(order));
  return order;
}

// What the payment worker would have sent: the gateway now knows the order's key.
void ChargeAtGateway(const GatewaySim& gateway, const std::string& order) {
  const nlohmann::json body = {{"order_id", order}, {"amount_cents", 1000}, {"currency", "USD"}};
  const auto reply = HttpRequest("POST", gateway.port(), "/v1/charges", body.dump(),
                                 {{"Content-Type", "application/json"},
                                  {"Idempotency-Key", domain::IdempotencyKeyForOrder(order)}});
  REQUIRE(reply.status == 200);
}

int Captures(const GatewaySim& gateway, const std::string& order) {
  const auto ledger = gateway.LedgerOrders();
  return ledger.contains(order) ? ledger.at(order).at("captures").get<int>() : 0;
}

struct RunOptions {
  std::size_t budget = 100;
  bool dry_run = false;
  bool breaker_open = false;
};

// A leader controller's view of one cycle, built by hand: the lease, the connection, the
// gateway lookup client, the metrics, and the reconciler under test.
class StuckOrdersHarness {
 public:
  // gateway_url: nullopt for "no gateway configured".
  StuckOrdersHarness(const std::string& url, std::optional<std::string> gateway_url)
      : url_(url),
        connection_(url),
        registry_({.component = "controller", .version = "test"}),
        metrics_(registry_),
        breaker_(clock_, {.failure_threshold = 100, .open_for = 10s}) {
    config_.controller.stuck_after_seconds = 60;
    config_.controller.max_redrives = 3;
    config_.controller.key_retention_seconds = 3600;
    if (gateway_url) {
      gateway_ = std::make_unique<http::GatewayLookupClient>(*http::ParseHttpUrl(*gateway_url),
                                                             500ms, clock_, breaker_);
    }
    const auto lease =
        pg::AcquireOrRenew(connection_, pg::kControllerLease, kInstance, std::nullopt, 60s);
    REQUIRE(lease.held);
    fence_ = {.lease_name = pg::kControllerLease, .holder = kInstance, .epoch = lease.epoch};
    with_connection_ = [this](const std::function<void(pqxx::connection_base&)>& work) {
      work(connection_);
    };
  }

  controller::ReconcileResult Run(const RunOptions& options = {}) {
    budget_ = std::make_unique<decide::RedriveBudget>(options.budget, options.breaker_open);
    controller::CycleContext context{.config = config_,
                                     .fence = fence_,
                                     .instance_id = kInstance,
                                     .cycle_id = QueryValue(url_, "SELECT gen_random_uuid()"),
                                     .dry_run = options.dry_run,
                                     .budget = *budget_,
                                     .metrics = metrics_,
                                     .with_connection = with_connection_,
                                     .gateway = gateway_.get(),
                                     .uniform01 = [] { return 0.5; }};
    return reconciler_.Reconcile(context);
  }

  config::Config& config() { return config_; }
  pg::Fence& fence() { return fence_; }
  decide::RedriveBudget& budget() { return *budget_; }
  metrics::ControllerMetrics& metrics() { return metrics_; }
  pqxx::connection& connection() { return connection_; }
  // Replaces how the reconciler reaches the database, e.g. to act between its calls.
  void set_with_connection(
      std::function<void(const std::function<void(pqxx::connection_base&)>&)> with_connection) {
    with_connection_ = std::move(with_connection);
  }

  double Redrives(const std::string& kind, const std::string& outcome) {
    return metrics_.Redrives(kind, outcome).Value();
  }
  double StuckGauge(const std::string& stuck_class) {
    return metrics_.StuckOrders(stuck_class).Value();
  }

 private:
  std::string url_;
  pqxx::connection connection_;
  config::Config config_;
  metrics::Registry registry_;
  metrics::ControllerMetrics metrics_;
  runtime::SystemClock clock_;
  decide::CircuitBreaker breaker_;
  std::unique_ptr<http::GatewayLookupClient> gateway_;
  pg::Fence fence_;
  std::function<void(const std::function<void(pqxx::connection_base&)>&)> with_connection_;
  std::unique_ptr<decide::RedriveBudget> budget_;
  controller::StuckOrdersReconciler reconciler_;
};

}  // namespace

TEST_CASE("a stuck order that was never sent is re-emitted to the payment worker") {
  MigratedDatabase database;
  GatewaySim gateway;
  const std::string url = database.Url();
  StuckOrdersHarness harness(url, gateway.Url());
  const std::string order = MakeStuckOrder(url);
  const std::string version = OrderValue(url, order, "version");

  const auto result = harness.Run();
  CHECK(result.acted == 1);
  CHECK(result.conflicts == 0);
  CHECK(result.deferred == 0);
  CHECK_FALSE(result.error);
  CHECK(OrderValue(url, order, "state") == "PAYMENT_PENDING");
  CHECK(OrderValue(url, order, "redrive_count") == "1");
  CHECK(OrderValue(url, order, "version") == std::to_string(std::stoi(version) + 1));
  CHECK(OrderValue(url, order, "charge_requested_at IS NULL") == "t");
  // The new event is pending for the worker, carries the order and says it is a re-drive.
  CHECK(PaymentEvents(url, order) == 2);
  const std::string event_id =
      QueryValue(url,
                 "SELECT event_id FROM outbox WHERE consumer = 'payment' AND dead_at IS NULL "
                 "AND event_type = 'OrderCreated' AND aggregate_id = " +
                     Quoted(order));
  REQUIRE_FALSE(event_id.empty());
  CHECK(QueryValue(url, "SELECT payload->>'order_id' = " + Quoted(order) +
                            " AND (payload->>'redrive')::bool FROM outbox WHERE event_id = " +
                            Quoted(event_id)) == "t");
  // One audit row: who, which cycle and epoch, what, before and after, why.
  CHECK(AuditRows(url) == 1);
  CHECK(QueryValue(url,
                   "SELECT concat_ws('|', actor, epoch, rule, order_id, event_id, "
                   "state_before, version_before, state_after, version_after, outcome, "
                   "reason, dry_run, cycle_id IS NOT NULL) FROM redrive_log") ==
        std::string(kInstance) + "|" + std::to_string(harness.fence().epoch) + "|stuck_order|" +
            order + "|" + event_id + "|PAYMENT_PENDING|" + version + "|PAYMENT_PENDING|" +
            std::to_string(std::stoi(version) + 1) + "|applied|never_sent|f|t");
  CHECK(harness.Redrives("reemit_payment", "applied") == 1);
  CHECK(harness.StuckGauge("never_sent") == 1);
  CHECK(harness.StuckGauge("outcome_unknown") == 0);
  CHECK(harness.metrics().oldest_stuck_order_age_seconds.Value() >= 600);

  // Level-triggered: its new payment event is pending, so it is not stuck any more.
  const auto again = harness.Run();
  CHECK(again.acted == 0);
  CHECK(PaymentEvents(url, order) == 2);
  CHECK(harness.StuckGauge("never_sent") == 0);
  CHECK(harness.metrics().oldest_stuck_order_age_seconds.Value() == 0);
}

TEST_CASE(
    "the controller marks a stuck order PAID when the gateway says it succeeded, never charging "
    "again") {
  MigratedDatabase database;
  GatewaySim gateway;
  const std::string url = database.Url();
  StuckOrdersHarness harness(url, gateway.Url());
  const std::string order = MakeStuckOrder(url, {.charge_requested = true});
  ChargeAtGateway(gateway, order);
  const std::string version = OrderValue(url, order, "version");

  const auto result = harness.Run();
  CHECK(result.acted == 1);
  CHECK(OrderValue(url, order, "state") == "PAID");
  CHECK(OrderValue(url, order, "version") == std::to_string(std::stoi(version) + 1));
  CHECK(OrderValue(url, order, "redrive_count") == "0");
  CHECK(PaymentEvents(url, order) == 1);
  // The webhook event the worker's settle would have queued.
  CHECK(QueryValue(url,
                   "SELECT concat_ws('|', event_type, payload->>'order_id', "
                   "payload->>'status', payload->>'amount_cents', payload->>'currency') "
                   "FROM outbox WHERE consumer = 'webhook' AND aggregate_id = " +
                       Quoted(order)) == "PaymentSucceeded|" + order + "|succeeded|1000|USD");
  CHECK(QueryValue(url,
                   "SELECT concat_ws('|', state_after, outcome, reason) FROM redrive_log "
                   "WHERE order_id = " +
                       Quoted(order)) == "PAID|applied|gateway_succeeded");
  CHECK(QueryValue(url,
                   "SELECT l.event_id = o.event_id FROM redrive_log l JOIN outbox o ON "
                   "o.consumer = 'webhook' AND o.aggregate_id = l.order_id") == "t");
  CHECK(harness.Redrives("mark_paid", "applied") == 1);
  CHECK(harness.StuckGauge("settled_at_gateway") == 1);
  CHECK(Captures(gateway, order) == 1);

  CHECK(harness.Run().acted == 0);
  CHECK(Captures(gateway, order) == 1);
}

TEST_CASE("a stuck order whose charge was declined is marked FAILED with its webhook event") {
  MigratedDatabase database;
  GatewaySim gateway({"--decline-rate", "1"});
  const std::string url = database.Url();
  StuckOrdersHarness harness(url, gateway.Url());
  const std::string order = MakeStuckOrder(url, {.charge_requested = true});
  ChargeAtGateway(gateway, order);

  const auto result = harness.Run();
  CHECK(result.acted == 1);
  CHECK(OrderValue(url, order, "state") == "FAILED");
  CHECK(PaymentEvents(url, order) == 1);
  CHECK(QueryValue(url,
                   "SELECT event_type || '|' || (payload->>'status') FROM outbox "
                   "WHERE consumer = 'webhook' AND aggregate_id = " +
                       Quoted(order)) == "PaymentFailed|declined");
  CHECK(QueryValue(url, "SELECT reason FROM redrive_log") == "gateway_declined");
  CHECK(harness.Redrives("mark_failed", "applied") == 1);
  CHECK(Captures(gateway, order) == 0);
}

TEST_CASE("a stuck order the gateway never saw is re-emitted and keeps its first request time") {
  MigratedDatabase database;
  GatewaySim gateway;
  const std::string url = database.Url();
  StuckOrdersHarness harness(url, gateway.Url());
  const std::string order = MakeStuckOrder(url, {.charge_requested = true, .redrive_count = 1});
  const std::string requested_at = OrderValue(url, order, "charge_requested_at");

  const auto result = harness.Run();
  CHECK(result.acted == 1);
  CHECK(OrderValue(url, order, "state") == "PAYMENT_PENDING");
  CHECK(OrderValue(url, order, "redrive_count") == "2");
  CHECK(OrderValue(url, order, "charge_requested_at") == requested_at);
  CHECK(PaymentEvents(url, order) == 2);
  CHECK(QueryValue(url, "SELECT reason FROM redrive_log") == "gateway_not_found");
  CHECK(harness.StuckGauge("outcome_unknown") == 1);
  CHECK(gateway.LedgerOrders().empty());
}

TEST_CASE("a stuck order is left alone while the gateway cannot be reached") {
  MigratedDatabase database;
  const std::string url = database.Url();
  const std::string order = MakeStuckOrder(url, {.charge_requested = true});
  const std::string version = OrderValue(url, order, "version");

  SUBCASE("the gateway's port is closed") {
    StuckOrdersHarness harness(url, "http://127.0.0.1:" + std::to_string(FreeLoopbackPort()));
    const auto result = harness.Run();
    CHECK(result.acted == 0);
    CHECK(result.deferred == 1);
    CHECK_FALSE(result.error);
    CHECK(harness.StuckGauge("outcome_unknown") == 1);
  }
  SUBCASE("no gateway is configured") {
    StuckOrdersHarness harness(url, std::nullopt);
    const auto result = harness.Run();
    CHECK(result.acted == 0);
    CHECK(result.deferred == 1);
  }
  CHECK(OrderValue(url, order, "state") == "PAYMENT_PENDING");
  CHECK(OrderValue(url, order, "version") == version);
  CHECK(OrderValue(url, order, "redrive_count") == "0");
  CHECK(PaymentEvents(url, order) == 1);
  CHECK(AuditRows(url) == 0);
}

TEST_CASE(
    "a stuck order re-driven max_redrives times goes to NEEDS_REVIEW and is never re-emitted") {
  MigratedDatabase database;
  GatewaySim gateway;
  const std::string url = database.Url();
  StuckOrdersHarness harness(url, gateway.Url());
  const std::string sent = MakeStuckOrder(url, {.charge_requested = true, .redrive_count = 3});
  const std::string unsent = MakeStuckOrder(url, {.charge_requested = false, .redrive_count = 3});

  const auto result = harness.Run();
  CHECK(result.acted == 2);
  for (const auto& order : {sent, unsent}) {
    INFO("order ", order);
    CHECK(OrderValue(url, order, "state") == "NEEDS_REVIEW");
    CHECK(OrderValue(url, order, "redrive_count") == "3");
    CHECK(PaymentEvents(url, order) == 1);
    CHECK(QueryValue(url, "SELECT reason FROM redrive_log WHERE order_id = " + Quoted(order)) ==
          "max_redrives");
  }
  CHECK(harness.Redrives("needs_review", "applied") == 2);

  Execute(url, "UPDATE orders SET updated_at = now() - interval '1 hour'");
  CHECK(harness.Run().acted == 0);
  CHECK(Count(url, "SELECT count(*) FROM outbox WHERE consumer = 'payment'") == 0);
  CHECK(AllEvents(url) == 2);
  CHECK(AuditRows(url) == 2);
}

TEST_CASE(
    "a stuck order whose charge request is older than the key retention goes to "
    "NEEDS_REVIEW, not to a new charge") {
  MigratedDatabase database;
  GatewaySim gateway;
  const std::string url = database.Url();
  StuckOrdersHarness harness(url, gateway.Url());
  const std::string forgotten =
      MakeStuckOrder(url, {.charge_requested = true, .charge_requested_ago = "2 hours"});
  // The gateway's answer still wins over the limit: recording what happened is safe.
  const std::string remembered =
      MakeStuckOrder(url, {.charge_requested = true, .charge_requested_ago = "2 hours"});
  ChargeAtGateway(gateway, remembered);

  const auto result = harness.Run();
  CHECK(result.acted == 2);
  CHECK(OrderValue(url, forgotten, "state") == "NEEDS_REVIEW");
  CHECK(OrderValue(url, forgotten, "redrive_count") == "0");
  CHECK(PaymentEvents(url, forgotten) == 1);
  CHECK(QueryValue(url, "SELECT reason FROM redrive_log WHERE order_id = " + Quoted(forgotten)) ==
        "key_retention_expired");
  CHECK(OrderValue(url, remembered, "state") == "PAID");
  CHECK(Count(url, "SELECT count(*) FROM outbox WHERE consumer = 'webhook'") == 1);
  CHECK(gateway.LedgerOrders().size() == 1);
}

TEST_CASE("an order whose payment event is still pending is not stuck") {
  MigratedDatabase database;
  GatewaySim gateway;
  const std::string url = database.Url();
  StuckOrdersHarness harness(url, gateway.Url());
  const std::string waiting = MakeStuckOrder(url, {.event_completed = false});
  Execute(url, "UPDATE outbox SET available_at = now() + interval '1 hour' WHERE aggregate_id = " +
                   Quoted(waiting));
  const std::string claimed =
      MakeStuckOrder(url, {.charge_requested = true, .event_completed = false});
  Execute(url,
          "UPDATE outbox SET claimed_by = 'worker-1', "
          "claimed_until = now() + interval '1 minute' WHERE aggregate_id = " +
              Quoted(claimed));
  const std::string recent = MakeStuckOrder(url, {.untouched_for = "5 seconds"});
  // A dead-lettered payment event will never be handled: that order is stuck.
  const std::string dead = MakeStuckOrder(url, {.event_completed = false});
  Execute(url, "UPDATE outbox SET dead_at = now() WHERE aggregate_id = " + Quoted(dead));

  const auto result = harness.Run();
  CHECK(result.acted == 1);
  CHECK(result.deferred == 0);
  CHECK(AuditRows(url) == 1);
  CHECK(AuditRows(url, "order_id = " + Quoted(dead)) == 1);
  for (const auto& order : {waiting, claimed, recent}) {
    INFO("order ", order);
    CHECK(OrderValue(url, order, "redrive_count") == "0");
    CHECK(PaymentEvents(url, order) == 1);
  }
  CHECK(harness.StuckGauge("never_sent") == 1);
  CHECK(harness.StuckGauge("outcome_unknown") == 0);
}

TEST_CASE(
    "a stuck-order write that loses the race to a concurrent writer changes nothing but the "
    "audit") {
  MigratedDatabase database;
  GatewaySim gateway;
  const std::string url = database.Url();
  StuckOrdersHarness harness(url, gateway.Url());
  const std::string order = MakeStuckOrder(url);
  const std::string version = OrderValue(url, order, "version");

  // A worker writes the order after the scan read it and before the reconciler writes.
  int calls = 0;
  harness.set_with_connection([&](const std::function<void(pqxx::connection_base&)>& work) {
    if (++calls == 2) {
      Execute(url, "UPDATE orders SET version = version + 1 WHERE id = " + Quoted(order));
    }
    work(harness.connection());
  });
  const auto result = harness.Run();
  CHECK(calls == 2);
  CHECK(result.acted == 0);
  CHECK(result.conflicts == 1);
  CHECK_FALSE(result.error);
  CHECK(OrderValue(url, order, "version") == std::to_string(std::stoi(version) + 1));
  CHECK(OrderValue(url, order, "redrive_count") == "0");
  CHECK(PaymentEvents(url, order) == 1);
  CHECK(QueryValue(url,
                   "SELECT concat_ws('|', outcome, version_before, state_after IS NULL, "
                   "version_after IS NULL) FROM redrive_log") == "conflict|" + version + "|t|t");
  CHECK(harness.Redrives("reemit_payment", "conflict") == 1);
}

TEST_CASE(
    "a controller with a stale epoch writes nothing about stuck orders, not even an audit row") {
  MigratedDatabase database;
  GatewaySim gateway;
  const std::string url = database.Url();
  StuckOrdersHarness harness(url, gateway.Url());
  const std::string unsent = MakeStuckOrder(url);
  const std::string settled = MakeStuckOrder(url, {.charge_requested = true});
  ChargeAtGateway(gateway, settled);

  // The lease expires and another controller takes over: a new epoch.
  Execute(url, "UPDATE controller_leases SET expires_at = now() - interval '1 second'");
  const auto takeover = pg::AcquireOrRenew(harness.connection(), pg::kControllerLease,
                                           "controller-other", std::nullopt, 60s);
  REQUIRE(takeover.held);
  REQUIRE(takeover.epoch == harness.fence().epoch + 1);

  const auto result = harness.Run();
  REQUIRE(result.error);
  CHECK(result.error->find("fenced") != std::string::npos);
  CHECK(result.acted == 0);
  CHECK(AuditRows(url) == 0);
  CHECK(Count(url,
              "SELECT count(*) FROM orders WHERE state = 'PAYMENT_PENDING' AND "
              "redrive_count = 0") == 2);
  CHECK(Count(url, "SELECT count(*) FROM outbox") == 0);
  CHECK(AllEvents(url) == 2);
  CHECK(AllEvents(url, "webhook") == 0);
  CHECK(harness.Redrives("reemit_payment", "fenced") + harness.Redrives("mark_paid", "fenced") ==
        1);
}

TEST_CASE("dry run decides every stuck order and writes only dry-run audit rows") {
  MigratedDatabase database;
  GatewaySim gateway;
  const std::string url = database.Url();
  StuckOrdersHarness harness(url, gateway.Url());
  const std::string unsent = MakeStuckOrder(url);
  const std::string settled = MakeStuckOrder(url, {.charge_requested = true});
  ChargeAtGateway(gateway, settled);
  const std::string spent = MakeStuckOrder(url, {.charge_requested = true, .redrive_count = 3});
  const std::string before = QueryValue(
      url,
      "SELECT string_agg(concat_ws('|', id, state, version, redrive_count, updated_at), ',' "
      "ORDER BY id) FROM orders");

  const auto result = harness.Run({.dry_run = true});
  CHECK(result.acted == 3);
  CHECK(QueryValue(url,
                   "SELECT string_agg(concat_ws('|', id, state, version, redrive_count, "
                   "updated_at), ',' ORDER BY id) FROM orders") == before);
  CHECK(Count(url, "SELECT count(*) FROM outbox") == 0);
  CHECK(AllEvents(url) == 3);
  CHECK(AllEvents(url, "webhook") == 0);
  CHECK(AuditRows(url) == 3);
  CHECK(AuditRows(url, "dry_run AND outcome = 'dry_run' AND event_id IS NULL") == 3);
  CHECK(QueryValue(url, "SELECT state_after || '|' || reason FROM redrive_log WHERE order_id = " +
                            Quoted(unsent)) == "PAYMENT_PENDING|never_sent");
  CHECK(QueryValue(url, "SELECT state_after || '|' || reason FROM redrive_log WHERE order_id = " +
                            Quoted(settled)) == "PAID|gateway_succeeded");
  CHECK(QueryValue(url, "SELECT state_after || '|' || reason FROM redrive_log WHERE order_id = " +
                            Quoted(spent)) == "NEEDS_REVIEW|max_redrives");
  CHECK(harness.Redrives("reemit_payment", "dry_run") == 1);
  CHECK(harness.Redrives("mark_paid", "dry_run") == 1);
  CHECK(harness.Redrives("needs_review", "dry_run") == 1);
  CHECK(harness.Redrives("reemit_payment", "applied") == 0);
  CHECK(Captures(gateway, settled) == 1);
}

TEST_CASE("a budget of N re-drives the N oldest stuck orders and defers the rest") {
  MigratedDatabase database;
  GatewaySim gateway;
  const std::string url = database.Url();
  StuckOrdersHarness harness(url, gateway.Url());
  std::vector<std::string> orders;
  for (int minutes = 50; minutes >= 10; minutes -= 10) {
    orders.push_back(MakeStuckOrder(url, {.untouched_for = std::to_string(minutes) + " minutes"}));
  }

  const auto result = harness.Run({.budget = 2});
  CHECK(result.acted == 2);
  CHECK(result.deferred == 3);
  CHECK(harness.budget().remaining() == 0);
  CHECK(harness.budget().deferred_by_budget() == 3);
  CHECK(AuditRows(url) == 2);
  for (std::size_t i = 0; i < orders.size(); ++i) {
    INFO("order ", i);
    CHECK(OrderValue(url, orders[i], "redrive_count") == (i < 2 ? "1" : "0"));
  }
  // Level-triggered: the next cycle picks up the oldest of the rest.
  CHECK(harness.Run({.budget = 2}).acted == 2);
  CHECK(OrderValue(url, orders[2], "redrive_count") == "1");
  CHECK(OrderValue(url, orders[4], "redrive_count") == "0");
}

TEST_CASE(
    "while the gateway's breaker is open only stuck-order re-drives that avoid the gateway "
    "go ahead") {
  MigratedDatabase database;
  GatewaySim gateway;
  const std::string url = database.Url();
  StuckOrdersHarness harness(url, gateway.Url());
  const std::string unsent = MakeStuckOrder(url, {.untouched_for = "30 minutes"});
  const std::string settled =
      MakeStuckOrder(url, {.charge_requested = true, .untouched_for = "20 minutes"});
  ChargeAtGateway(gateway, settled);
  const std::string spent = MakeStuckOrder(url, {.redrive_count = 3});

  const auto result = harness.Run({.budget = 10, .breaker_open = true});
  CHECK(result.acted == 1);
  CHECK(result.deferred == 2);
  CHECK(harness.budget().deferred_by_breaker() == 2);
  CHECK(harness.budget().remaining() == 9);
  CHECK(OrderValue(url, spent, "state") == "NEEDS_REVIEW");
  CHECK(OrderValue(url, unsent, "redrive_count") == "0");
  CHECK(PaymentEvents(url, unsent) == 1);
  CHECK(OrderValue(url, settled, "state") == "PAYMENT_PENDING");
  CHECK(AuditRows(url) == 1);
}

TEST_CASE("re-emitted stuck orders end PAID through a real payment worker, captured once") {
  MigratedDatabase database;
  GatewaySim gateway({"--error-rate", "1"});
  const std::string url = database.Url();
  // Two orders whose charge was never requested at all (made before the worker starts, so it
  // never sees their completed events).
  MakeStuckOrder(url);
  MakeStuckOrder(url);
  WorkerProcess worker(url, "payment",
                       {{"REDRIVE_GATEWAY_URL", gateway.Url()},
                        {"REDRIVE_WORKER_MAX_ATTEMPTS", "2"},
                        {"REDRIVE_GATEWAY_BREAKER_FAILURE_THRESHOLD", "100"}});
  REQUIRE(worker.WaitReady());

  // The gateway fails before charging, so the worker gives up: sent, never seen.
  for (int i = 0; i < 3; ++i) PlaceOrder(url);
  REQUIRE(WaitForValue(url, "SELECT count(*) FROM dead_letter_events", "3"));
  REQUIRE(Count(url,
                "SELECT count(*) FROM orders WHERE state = 'PAYMENT_PENDING' AND "
                "charge_requested_at IS NOT NULL") == 3);
  gateway.SetFaults({{"error_rate", 0.0}});
  Execute(url, "UPDATE orders SET updated_at = now() - interval '10 minutes'");

  StuckOrdersHarness harness(url, gateway.Url());
  const auto result = harness.Run();
  CHECK(result.acted == 5);
  CHECK(harness.Redrives("reemit_payment", "applied") == 5);
  CHECK(AuditRows(url, "reason = 'gateway_not_found'") == 3);
  CHECK(AuditRows(url, "reason = 'never_sent'") == 2);
  CHECK(WaitForValue(url, "SELECT count(*) FROM orders WHERE state = 'PAID'", "5"));
  const auto ledger = gateway.LedgerOrders();
  CHECK(ledger.size() == 5);
  for (const auto& [order, entry] : ledger.items()) {
    INFO("order ", order);
    CHECK(entry.at("captures").get<int>() == 1);
  }
  CHECK(Count(url,
              "SELECT count(*) FROM outbox WHERE consumer = 'webhook' AND "
              "event_type = 'PaymentSucceeded'") == 5);

  // Nothing is stuck any more, however long we wait.
  Execute(url, "UPDATE orders SET updated_at = now() - interval '1 hour'");
  CHECK(harness.Run().acted == 0);
  CHECK(AuditRows(url) == 5);
}
