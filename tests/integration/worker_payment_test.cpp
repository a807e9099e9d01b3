// The payment worker end to end: real PostgreSQL, real gateway-sim, real redrive-worker
// processes. The gateway's ledger is the oracle for "never charged twice".
#include <doctest/doctest.h>
#include <signal.h>

#include "tests/support/http_client.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/redrive_processes.hpp"

namespace {

using namespace redrive::testing;
using namespace std::chrono_literals;

std::map<std::string, std::string> GatewayEnv(const GatewaySim& gateway,
                                              std::map<std::string, std::string> extra = {}) {
  extra["REDRIVE_GATEWAY_URL"] = gateway.Url();
  return extra;
}

int Count(const std::string& url, const std::string& sql) {
  return std::stoi(QueryValue(url, sql));
}

void PlaceOrders(const std::string& url, int count) {
  Execute(url, "SELECT place_order('test', 1000 + g, 'USD') FROM generate_series(1, " +
                   std::to_string(count) + ") g");
}

// Every order the gateway saw was captured at most once, and exactly once when it is PAID.
void CheckCapturedAtMostOnce(const std::string& url, const GatewaySim& gateway) {
  const auto orders = gateway.LedgerOrders();
  for (const auto& [order_id, entry] : orders.items()) {
    INFO("order ", order_id);
    CHECK(entry.at("captures").get<int>() <= 1);
  }
  const int paid = Count(url, "SELECT count(*) FROM orders WHERE state = 'PAID'");
  int captured = 0;
  for (const auto& [order_id, entry] : orders.items()) captured += entry.at("captures").get<int>();
  CHECK(captured == paid);
}

}  // namespace

TEST_CASE("the payment worker charges every order once and queues its webhook event") {
  MigratedDatabase database;
  GatewaySim gateway;
  WorkerProcess worker(database.Url(), "payment", GatewayEnv(gateway));
  REQUIRE(worker.WaitReady());

  PlaceOrders(database.Url(), 25);
  CHECK(WaitForValue(database.Url(), "SELECT count(*) FROM orders WHERE state = 'PAID'", "25"));
  // Completed: the outbox rows are gone and each has its record, with what the row held (the
  // order and its event are written in one transaction, so it was queued when the order was
  // created).
  CHECK(Count(database.Url(), "SELECT count(*) FROM outbox WHERE consumer = 'payment'") == 0);
  CHECK(Count(database.Url(), "SELECT count(*) FROM processed_events WHERE consumer = 'payment'") ==
        25);
  CHECK(Count(database.Url(),
              "SELECT count(*) FROM processed_events p JOIN orders o ON o.id = p.aggregate_id "
              "WHERE p.consumer = 'payment' AND p.event_type = 'OrderCreated' AND "
              "p.attempts = 1 AND p.queued_at = o.created_at AND "
              "p.processed_at >= p.queued_at") == 25);
  CHECK(Count(database.Url(),
              "SELECT count(*) FROM outbox WHERE consumer = 'webhook' AND "
              "event_type = 'PaymentSucceeded'") == 25);
  CHECK(Count(database.Url(), "SELECT count(*) FROM orders WHERE charge_requested_at IS NULL") ==
        0);
  CHECK(gateway.LedgerOrders().size() == 25);
  CheckCapturedAtMostOnce(database.Url(), gateway);
  CHECK(worker.Metric("redrive_worker_events_total{consumer=\"payment\",outcome=\"completed\"}") ==
        25);
  CHECK(worker.Metric("redrive_gateway_requests_total{status_class=\"2xx\"}") == 25);
}

TEST_CASE("a declined charge fails the order and queues PaymentFailed") {
  MigratedDatabase database;
  GatewaySim gateway({"--decline-rate", "1"});
  WorkerProcess worker(database.Url(), "payment", GatewayEnv(gateway));
  REQUIRE(worker.WaitReady());

  PlaceOrders(database.Url(), 5);
  CHECK(WaitForValue(database.Url(), "SELECT count(*) FROM orders WHERE state = 'FAILED'", "5"));
  CHECK(Count(database.Url(),
              "SELECT count(*) FROM outbox WHERE consumer = 'webhook' AND "
              "event_type = 'PaymentFailed'") == 5);
  const auto ledger = gateway.LedgerOrders();
  CHECK(ledger.size() == 5);
  for (const auto& [order_id, entry] : ledger.items()) {
    CHECK(entry.at("captures").get<int>() == 0);
  }
}

TEST_CASE("every class of poison event is dead-lettered with its reason and the worker goes on") {
  MigratedDatabase database;
  GatewaySim gateway;
  const std::string url = database.Url();
  auto insert = [&](const std::string& type, const std::string& payload) {
    Execute(url,
            "INSERT INTO outbox (event_id, consumer, event_type, payload) VALUES "
            "(gen_random_uuid(), 'payment', '" +
                type + "', '" + payload + "')");
  };
  insert("OrderCreated", "[1, 2, 3]");
  insert("OrderCreated", R"({"order_id": "not-a-uuid"})");
  insert("OrderCreated", R"({"customer": "no order id"})");
  insert("OrderShipped", R"({"order_id": "6f1c1f8e-4a55-4d59-9f59-3a8f6f0c0a01"})");
  insert("OrderCreated", R"({"order_id": "6f1c1f8e-4a55-4d59-9f59-3a8f6f0c0a01"})");
  insert("OrderCreated", R"({"order_id": "6f1c1f8e-4a55-4d59-9f59-3a8f6f0c0a02", "pad": ")" +
                             std::string(3000, 'x') + R"("})");

  WorkerProcess worker(url, "payment",
                       GatewayEnv(gateway, {{"REDRIVE_WORKER_MAX_PAYLOAD_BYTES", "2048"}}));
  REQUIRE(worker.WaitReady());
  CHECK(WaitForValue(url, "SELECT count(*) FROM dead_letter_events", "6"));
  CHECK(QueryValue(url,
                   "SELECT string_agg(reason, ',' ORDER BY outbox_id) FROM "
                   "dead_letter_events") ==
        "malformed_payload,malformed_payload,malformed_payload,unknown_event_type,"
        "order_not_found,payload_too_large");
  CHECK(Count(url,
              "SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL AND attempts = 1 "
              "AND claimed_by IS NULL") == 6);

  // Poison never blocks good work behind it.
  PlaceOrder(url);
  CHECK(WaitForValue(url, "SELECT count(*) FROM orders WHERE state = 'PAID'", "1"));
  CHECK(worker.process().Running());
  CHECK(gateway.LedgerOrders().size() == 1);
  CHECK(worker.Metric(
            "redrive_dead_letters_total{consumer=\"payment\",reason=\"malformed_payload\"}") == 3);
}

TEST_CASE("a failing charge is retried later while other orders keep flowing") {
  MigratedDatabase database;
  GatewaySim gateway;
  const std::string url = database.Url();
  // Long backoff: the failed order must wait while the next one is paid at once.
  WorkerProcess worker(url, "payment",
                       GatewayEnv(gateway, {{"REDRIVE_WORKER_BACKOFF_BASE_MS", "3000"},
                                            {"REDRIVE_WORKER_BACKOFF_MAX_MS", "3000"},
                                            {"REDRIVE_GATEWAY_BREAKER_FAILURE_THRESHOLD", "100"}}));
  REQUIRE(worker.WaitReady());

  gateway.SetFaults({{"error_rate", 1.0}});
  const std::string first = PlaceOrder(url);
  REQUIRE(WaitForValue(url,
                       "SELECT count(*) FROM outbox WHERE aggregate_id = '" + first +
                           "' AND attempts = 1 AND claimed_by IS NULL AND available_at > now()",
                       "1", 5s));
  CHECK(QueryValue(url, "SELECT last_error FROM outbox WHERE aggregate_id = '" + first + "'")
            .find("gateway_500") != std::string::npos);

  gateway.SetFaults({{"error_rate", 0.0}});
  const std::string second = PlaceOrder(url);
  CHECK(WaitForValue(url, "SELECT state FROM orders WHERE id = '" + second + "'", "PAID", 2s));
  CHECK(QueryValue(url, "SELECT state FROM orders WHERE id = '" + first + "'") ==
        "PAYMENT_PENDING");
  CHECK(WaitForValue(url, "SELECT state FROM orders WHERE id = '" + first + "'", "PAID", 10s));
  CheckCapturedAtMostOnce(url, gateway);
}

TEST_CASE("an event that fails max_attempts times is dead-lettered and its order left pending") {
  MigratedDatabase database;
  GatewaySim gateway({"--error-rate", "1"});
  const std::string url = database.Url();
  WorkerProcess worker(url, "payment",
                       GatewayEnv(gateway, {{"REDRIVE_WORKER_MAX_ATTEMPTS", "3"},
                                            {"REDRIVE_GATEWAY_BREAKER_FAILURE_THRESHOLD", "100"}}));
  REQUIRE(worker.WaitReady());
  const std::string order = PlaceOrder(url);
  CHECK(WaitForValue(url, "SELECT reason FROM dead_letter_events", "max_attempts"));
  CHECK(QueryValue(url, "SELECT attempts FROM dead_letter_events") == "3");
  CHECK(QueryValue(url, "SELECT last_error FROM dead_letter_events").find("gateway_500") !=
        std::string::npos);
  // The outcome may be unknown (a 500 can follow a charge): the controller settles it.
  CHECK(QueryValue(url, "SELECT state FROM orders WHERE id = '" + order + "'") ==
        "PAYMENT_PENDING");
}

TEST_CASE("the circuit breaker stops claiming while the gateway fails and closes when it heals") {
  MigratedDatabase database;
  GatewaySim gateway({"--error-rate", "1"});
  const std::string url = database.Url();
  WorkerProcess worker(url, "payment",
                       GatewayEnv(gateway, {{"REDRIVE_GATEWAY_BREAKER_FAILURE_THRESHOLD", "3"},
                                            {"REDRIVE_GATEWAY_BREAKER_OPEN_SECONDS", "1"},
                                            {"REDRIVE_WORKER_MAX_ATTEMPTS", "1000"}}));
  REQUIRE(worker.WaitReady());
  PlaceOrders(url, 20);
  CHECK(WaitUntil(
      [&] { return worker.Metric("redrive_circuit_breaker_state{target=\"gateway\"}") == 2; }));
  // While open it probes about once a second instead of burning every order's attempts.
  SleepFor(2500ms);
  // Live rows and the records of completed ones: a completed row takes its attempts along.
  const int attempts =
      Count(url,
            "SELECT (SELECT coalesce(sum(attempts), 0) FROM outbox WHERE consumer = 'payment') + "
            "(SELECT coalesce(sum(attempts), 0) FROM processed_events WHERE consumer = 'payment')");
  CHECK(attempts < 40);

  gateway.SetFaults({{"error_rate", 0.0}});
  CHECK(WaitForValue(url, "SELECT count(*) FROM orders WHERE state = 'PAID'", "20", 30s));
  CHECK(worker.Metric("redrive_circuit_breaker_state{target=\"gateway\"}") == 0);
  CheckCapturedAtMostOnce(url, gateway);
}

TEST_CASE("SIGTERM turns readiness off, finishes in-flight charges and exits 0") {
  MigratedDatabase database;
  GatewaySim gateway({"--latency-ms", "1500"});
  const std::string url = database.Url();
  WorkerProcess worker(url, "payment",
                       GatewayEnv(gateway, {{"REDRIVE_GATEWAY_TIMEOUT_MS", "5000"}}));
  REQUIRE(worker.WaitReady());
  PlaceOrders(url, 3);
  REQUIRE(WaitUntil(
      [&] { return worker.Metric("redrive_worker_inflight{consumer=\"payment\"}") == 3; }));

  worker.process().Signal(SIGTERM);
  CHECK(WaitUntil([&] { return HttpGet(worker.admin_port(), "/readyz").status == 503; }, 1s));
  // Orders placed during the drain are left for other workers.
  const std::string late = PlaceOrder(url);
  const auto status = worker.process().Wait(10s);
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK(Count(url, "SELECT count(*) FROM orders WHERE state = 'PAID'") == 3);
  CHECK(QueryValue(url, "SELECT state FROM orders WHERE id = '" + late + "'") == "CREATED");
  CHECK(QueryValue(url, "SELECT count(*) FROM outbox WHERE claimed_by IS NOT NULL") == "0");
}

TEST_CASE("work still in flight when the grace period ends is released for other workers") {
  MigratedDatabase database;
  GatewaySim gateway({"--latency-ms", "8000"});
  const std::string url = database.Url();
  WorkerProcess worker(url, "payment",
                       GatewayEnv(gateway, {{"REDRIVE_WORKER_SHUTDOWN_GRACE_SECONDS", "1"},
                                            {"REDRIVE_GATEWAY_TIMEOUT_MS", "20000"}}));
  REQUIRE(worker.WaitReady());
  const std::string order = PlaceOrder(url);
  REQUIRE(WaitUntil(
      [&] { return worker.Metric("redrive_worker_inflight{consumer=\"payment\"}") == 1; }));
  worker.process().Signal(SIGTERM);
  const auto status = worker.process().Wait(5s);
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK(QueryValue(url,
                   "SELECT claimed_by IS NULL AND available_at <= now() FROM outbox "
                   "WHERE aggregate_id = '" +
                       order + "'") == "t");

  // Another worker claims it at once and uses the same idempotency key: the gateway answers
  // 409 while the first request is still in flight, then replays its result.
  gateway.SetFaults({{"latency_ms", 0}});
  WorkerProcess next(url, "payment",
                     GatewayEnv(gateway, {{"REDRIVE_WORKER_MAX_ATTEMPTS", "1000"}}));
  // The row, or once completed its record (the row is then gone).
  CHECK(WaitForValue(url,
                     "SELECT max(attempts) > 1 FROM (SELECT attempts FROM outbox WHERE "
                     "consumer = 'payment' AND aggregate_id = '" +
                         order +
                         "' UNION ALL SELECT attempts FROM processed_events WHERE consumer = "
                         "'payment' AND aggregate_id = '" +
                         order + "') a",
                     "t", 5s));
  CHECK(WaitForValue(url, "SELECT state FROM orders WHERE id = '" + order + "'", "PAID", 20s));
  CHECK(gateway.LedgerOrders().at(order).at("captures").get<int>() == 1);
}

TEST_CASE("a PostgreSQL restart mid-run loses and duplicates nothing") {
  auto cluster = PgCluster::Start();
  MigratedDatabase database(*cluster);
  GatewaySim gateway;
  const std::string url = database.Url();
  WorkerProcess worker(url, "payment", GatewayEnv(gateway));
  REQUIRE(worker.WaitReady());
  PlaceOrders(url, 30);
  CHECK(WaitForValue(url, "SELECT count(*) FROM orders WHERE state = 'PAID'", "30"));

  cluster->StopImmediately();
  CHECK(WaitUntil([&] { return HttpGet(worker.admin_port(), "/readyz").status == 503; }, 10s));
  CHECK(HttpGet(worker.admin_port(), "/healthz").status == 200);
  cluster->StartAgain();
  CHECK(worker.WaitReady(15s));
  PlaceOrders(url, 30);
  CHECK(WaitForValue(url, "SELECT count(*) FROM orders WHERE state = 'PAID'", "60", 30s));
  CHECK(worker.process().Running());
  CHECK(gateway.LedgerOrders().size() == 60);
  CheckCapturedAtMostOnce(url, gateway);
}

TEST_CASE("a crash at each failpoint is recovered through lease expiry with one capture") {
  for (const std::string failpoint : {"after_claim", "between_read_and_write",
                                      "after_gateway_response", "before_settle_commit"}) {
    SUBCASE(failpoint.c_str()) {
      MigratedDatabase database;
      GatewaySim gateway;
      const std::string url = database.Url();
      const std::string order = PlaceOrder(url);
      {
        WorkerProcess doomed(url, "payment",
                             GatewayEnv(gateway, {{"REDRIVE_FAILPOINTS", failpoint + "=abort"}}));
        const auto status = doomed.process().Wait(20s);
        REQUIRE(status.has_value());
        CHECK(*status == 128 + SIGABRT);
      }
      CHECK(QueryValue(url, "SELECT state FROM orders WHERE id = '" + order + "'") != "PAID");
      // What the controller does for a dead worker's claim: give the row back.
      Execute(url,
              "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL "
              "WHERE dead_at IS NULL");
      WorkerProcess survivor(url, "payment", GatewayEnv(gateway));
      CHECK(WaitForValue(url, "SELECT state FROM orders WHERE id = '" + order + "'", "PAID"));
      CHECK(gateway.LedgerOrders().at(order).at("captures").get<int>() == 1);
      CHECK(Count(url, "SELECT count(*) FROM outbox WHERE consumer = 'webhook'") == 1);
    }
  }
}

TEST_CASE("a retry whose first charge is past key retention is dead-lettered, never sent") {
  MigratedDatabase database;
  GatewaySim gateway;
  const std::string url = database.Url();
  // Two orders whose first charge went out 120 s and 30 s ago (the worker died before
  // settling); the gateway is trusted to remember keys for 60 s.
  PlaceOrders(url, 2);
  Execute(url,
          "UPDATE orders SET state = 'PAYMENT_PENDING', version = version + 1, "
          "charge_requested_at = now() - CASE WHEN amount_cents = 1001 THEN interval '120 s' "
          "ELSE interval '30 s' END");
  WorkerProcess worker(url, "payment",
                       GatewayEnv(gateway, {{"REDRIVE_CONTROLLER_KEY_RETENTION_SECONDS", "60"},
                                            {"REDRIVE_CONTROLLER_STUCK_AFTER_SECONDS", "30"}}));
  REQUIRE(worker.WaitReady());

  CHECK(WaitForValue(url,
                     "SELECT (SELECT count(*) FROM outbox WHERE consumer = 'payment' AND "
                     "dead_at IS NOT NULL) + (SELECT count(*) FROM processed_events WHERE "
                     "consumer = 'payment')",
                     "2"));
  CHECK(Count(url, "SELECT count(*) FROM outbox WHERE consumer = 'payment' AND dead_at IS NULL") ==
        0);
  CHECK(QueryValue(url,
                   "SELECT reason || ' ' || last_error FROM dead_letter_events d "
                   "JOIN orders o ON o.id = d.aggregate_id WHERE o.amount_cents = 1001") ==
        "key_retention_expired first charge request 120s ago, key retention 60s");
  CHECK(QueryValue(url, "SELECT state FROM orders WHERE amount_cents = 1001") == "PAYMENT_PENDING");
  CHECK(QueryValue(url, "SELECT state FROM orders WHERE amount_cents = 1002") == "PAID");
  const auto ledger = gateway.LedgerOrders();
  CHECK(ledger.size() == 1);  // the expired one never reached the gateway
  CHECK(ledger.count(QueryValue(url, "SELECT id::text FROM orders WHERE amount_cents = 1001")) ==
        0);
}
