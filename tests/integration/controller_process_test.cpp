// redrive-controller as a process: leader election, handover, fencing after a pause, dry
// run, the budget, and recovery of a killed worker's work, on real PostgreSQL.
#include <doctest/doctest.h>
#include <signal.h>

#include <fstream>

#include "tests/support/http_client.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/redrive_processes.hpp"

namespace {

using namespace redrive::testing;
using namespace std::chrono_literals;

int Count(const std::string& url, const std::string& sql) {
  return std::stoi(QueryValue(url, sql));
}

bool IsLeader(const ControllerProcess& controller) {
  return controller.Metric("redrive_leader") == 1;
}

// Orders stuck in PAYMENT_PENDING that never reached the gateway: their events completed,
// nothing pending, untouched for ten minutes.
void MakeNeverSentStuckOrders(const std::string& url, int count) {
  Execute(url, "SELECT place_order('stuck', 500, 'USD') FROM generate_series(1, " +
                   std::to_string(count) + ")");
  REQUIRE(CompleteOutboxRows(url, "consumer = 'payment'") == count);
  Execute(url,
          "UPDATE orders SET state = 'PAYMENT_PENDING', version = version + 1, "
          "updated_at = now() - interval '10 minutes'");
}

}  // namespace

TEST_CASE("two controllers elect exactly one leader") {
  MigratedDatabase database;
  ControllerProcess first(database.Url());
  ControllerProcess second(database.Url());
  REQUIRE(first.WaitReady());
  REQUIRE(second.WaitReady());
  CHECK(WaitUntil([&] { return IsLeader(first) || IsLeader(second); }, 10s));
  SleepFor(2500ms);  // a few renewals: the standby must stay a standby
  CHECK(IsLeader(first) != IsLeader(second));
  CHECK(Count(database.Url(), "SELECT count(*) FROM controller_leases WHERE holder IS NOT NULL") ==
        1);
  // Standbys are ready too: they serve probes and metrics.
  CHECK(HttpGet(IsLeader(first) ? second.admin_port() : first.admin_port(), "/readyz").status ==
        200);
}

TEST_CASE("a leader stopped with SIGTERM hands the lease over at once") {
  MigratedDatabase database;
  ControllerProcess first(database.Url(),
                          {{"REDRIVE_CONTROLLER_LEASE_SECONDS", "30"},
                           {"REDRIVE_CONTROLLER_LEASE_RENEW_DEADLINE_SECONDS", "10"},
                           {"REDRIVE_CONTROLLER_LEASE_RETRY_SECONDS", "1"}});
  REQUIRE(WaitUntil([&] { return IsLeader(first); }, 10s));
  ControllerProcess second(database.Url(),
                           {{"REDRIVE_CONTROLLER_LEASE_SECONDS", "30"},
                            {"REDRIVE_CONTROLLER_LEASE_RENEW_DEADLINE_SECONDS", "10"},
                            {"REDRIVE_CONTROLLER_LEASE_RETRY_SECONDS", "1"}});
  REQUIRE(second.WaitReady());
  first.process().Signal(SIGTERM);
  const auto status = first.process().Wait(10s);
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  // Far sooner than the 30 s lease: the lease was released, not left to expire.
  CHECK(WaitUntil([&] { return IsLeader(second); }, 5s));
}

TEST_CASE("a paused leader is replaced within the lease and cannot write after it wakes") {
  MigratedDatabase database;
  const std::string url = database.Url();
  ControllerProcess first(url);
  REQUIRE(WaitUntil([&] { return IsLeader(first); }, 10s));
  ControllerProcess second(url);
  REQUIRE(second.WaitReady());
  const std::string old_epoch = QueryValue(url, "SELECT epoch FROM controller_leases");

  first.process().Signal(SIGSTOP);
  // Lease 3 s: the standby takes over once it has expired.
  CHECK(WaitUntil([&] { return IsLeader(second); }, 8s));
  const std::string new_epoch = QueryValue(url, "SELECT epoch FROM controller_leases");
  CHECK(std::stoll(new_epoch) > std::stoll(old_epoch));

  // Work for the paused ex-leader to be tempted by, then wake it.
  MakeNeverSentStuckOrders(url, 3);
  first.process().Signal(SIGCONT);
  SleepFor(3s);
  CHECK_FALSE(IsLeader(first));
  CHECK(IsLeader(second));
  // Every action taken since the takeover carries the new epoch: nothing the old leader
  // attempted got through its fence.
  CHECK(Count(url, "SELECT count(*) FROM redrive_log WHERE epoch = " + old_epoch +
                       " AND rule = 'stuck_order'") == 0);
  CHECK(Count(url, "SELECT count(*) FROM redrive_log WHERE epoch = " + new_epoch +
                       " AND rule = 'stuck_order' AND outcome = 'applied'") == 3);
}

TEST_CASE("a dry run plans and audits but changes nothing") {
  MigratedDatabase database;
  const std::string url = database.Url();
  MakeNeverSentStuckOrders(url, 5);
  Execute(url,
          "INSERT INTO outbox (event_id, consumer, event_type, payload, claimed_by, "
          "claimed_until, attempts) VALUES (gen_random_uuid(), 'noop', 'X', '{}', "
          "'gone-worker', now() - interval '1 minute', 1)");
  const std::string orders_before = QueryValue(
      url,
      "SELECT string_agg(id || state || version || redrive_count, ',' ORDER BY id) FROM orders");
  const std::string outbox_before = QueryValue(url,
                                               "SELECT string_agg(id || coalesce(claimed_by, '-') "
                                               "|| attempts, ',' ORDER BY id) FROM outbox");

  ControllerProcess controller(url, {}, {"--once", "--dry-run"});
  const auto status = controller.process().Wait(20s);
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK(QueryValue(url,
                   "SELECT string_agg(id || state || version || redrive_count, ',' ORDER BY id) "
                   "FROM orders") == orders_before);
  CHECK(QueryValue(url,
                   "SELECT string_agg(id || coalesce(claimed_by, '-') || attempts, ',' ORDER BY "
                   "id) FROM outbox") == outbox_before);
  CHECK(Count(url, "SELECT count(*) FROM redrive_log WHERE NOT dry_run") == 0);
  CHECK(Count(url, "SELECT count(*) FROM redrive_log WHERE dry_run AND rule = 'stuck_order'") == 5);
  CHECK(Count(url, "SELECT count(*) FROM redrive_log WHERE dry_run AND rule <> 'stuck_order'") >=
        1);
}

TEST_CASE("the re-drive budget caps a backlog of 10,000 stuck orders per cycle") {
  MigratedDatabase database;
  const std::string url = database.Url();
  MakeNeverSentStuckOrders(url, 10000);
  ControllerProcess controller(url, {{"REDRIVE_CONTROLLER_REDRIVE_BUDGET", "100"}}, {"--once"});
  const auto status = controller.process().Wait(60s);
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK(Count(url, "SELECT count(*) FROM orders WHERE redrive_count = 1") == 100);
  CHECK(Count(url, "SELECT count(*) FROM outbox WHERE consumer = 'payment' AND dead_at IS NULL") ==
        100);
  CHECK(
      Count(
          url,
          "SELECT count(*) FROM redrive_log WHERE rule = 'stuck_order' AND outcome = 'applied'") ==
      100);
}

TEST_CASE("a SIGKILLed worker's claims are re-driven within two controller intervals") {
  MigratedDatabase database;
  const std::string url = database.Url();
  GatewaySim gateway({"--latency-ms", "4000"});
  ControllerProcess controller(url, {{"REDRIVE_GATEWAY_URL", gateway.Url()}});
  REQUIRE(WaitUntil([&] { return IsLeader(controller); }, 10s));
  auto worker = std::make_unique<WorkerProcess>(
      url, "payment",
      std::map<std::string, std::string>{{"REDRIVE_GATEWAY_URL", gateway.Url()},
                                         {"REDRIVE_GATEWAY_TIMEOUT_MS", "10000"},
                                         {"REDRIVE_WORKER_LEASE_SECONDS", "300"},
                                         {"REDRIVE_WORKER_MAX_ATTEMPTS", "1000"}});
  REQUIRE(worker->WaitReady());
  const std::string order = PlaceOrder(url);
  REQUIRE(WaitForValue(url, "SELECT count(*) FROM outbox WHERE claimed_by IS NOT NULL", "1", 10s));
  worker->process().Signal(SIGKILL);
  worker->process().Wait(5s);
  const auto killed_at = RealNow();
  // The lease has 300 s to run; the controller sees the holder's sessions are gone.
  CHECK(WaitForValue(
      url, "SELECT count(*) FROM outbox WHERE claimed_by IS NULL AND consumer = 'payment'", "1",
      5s));
  CHECK(RealNow() - killed_at < 3s);
  CHECK(Count(url, "SELECT count(*) FROM redrive_log WHERE rule = 'dead_worker_claim'") == 1);

  gateway.SetFaults({{"latency_ms", 0}});
  WorkerProcess next(
      url, "payment",
      {{"REDRIVE_GATEWAY_URL", gateway.Url()}, {"REDRIVE_WORKER_MAX_ATTEMPTS", "1000"}});
  CHECK(WaitForValue(url, "SELECT state FROM orders WHERE id = '" + order + "'", "PAID", 30s));
  CHECK(gateway.LedgerOrders().at(order).at("captures").get<int>() == 1);
}

TEST_CASE("workers killed at every dangerous line end with every order terminal and charged once") {
  MigratedDatabase database;
  const std::string url = database.Url();
  GatewaySim gateway;
  ControllerProcess controller(url, {{"REDRIVE_GATEWAY_URL", gateway.Url()}});
  REQUIRE(WaitUntil([&] { return IsLeader(controller); }, 10s));
  const std::map<std::string, std::string> worker_env = {{"REDRIVE_GATEWAY_URL", gateway.Url()}};

  for (const std::string failpoint : {"after_claim", "between_read_and_write",
                                      "after_gateway_response", "before_settle_commit"}) {
    INFO("failpoint ", failpoint);
    PlaceOrder(url);
    auto env = worker_env;
    env["REDRIVE_FAILPOINTS"] = failpoint + "=abort";
    WorkerProcess doomed(url, "payment", env);
    const auto status = doomed.process().Wait(20s);
    REQUIRE(status.has_value());
    CHECK(*status == 128 + SIGABRT);
  }
  WorkerProcess survivor(url, "payment", worker_env);
  CHECK(
      WaitForValue(url, "SELECT count(*) FROM orders WHERE state IN ('PAID', 'FAILED')", "4", 60s));
  const auto ledger = gateway.LedgerOrders();
  CHECK(ledger.size() == 4);
  for (const auto& [order_id, entry] : ledger.items()) {
    INFO("order ", order_id);
    CHECK(entry.at("captures").get<int>() == 1);
  }
}

TEST_CASE("--once exits 0 after one successful cycle as leader") {
  MigratedDatabase database;
  ControllerProcess controller(database.Url(), {}, {"--once"});
  const auto status = controller.process().Wait(20s);
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK(Count(database.Url(), "SELECT count(*) FROM controller_leases WHERE holder IS NOT NULL") ==
        0);
}

TEST_CASE("an invalid configuration on reload is refused and the old one kept") {
  MigratedDatabase database;
  const std::string dir = MakeTempDir("redrive-reload");
  const std::string path = dir + "/redrive.yaml";
  std::ofstream(path) << "controller:\n  redrive_budget: 7\n";
  ControllerProcess controller(database.Url(), {}, {"--config", path});
  REQUIRE(WaitUntil([&] { return IsLeader(controller); }, 10s));
  std::ofstream(path) << "controller:\n  redrive_budget: -1\n";
  controller.process().Signal(SIGHUP);
  CHECK(
      WaitUntil([&] { return controller.Log().find("reload refused") != std::string::npos; }, 5s));
  CHECK(controller.process().Running());
  CHECK(WaitUntil([&] { return controller.Metric("redrive_redrive_budget_remaining") == 7; }, 5s));
  std::ofstream(path) << "controller:\n  redrive_budget: 9\n";
  controller.process().Signal(SIGHUP);
  CHECK(WaitUntil([&] { return controller.Metric("redrive_redrive_budget_remaining") == 9; }, 5s));
}
