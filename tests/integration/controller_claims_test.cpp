// The controller's lease recovery on a real PostgreSQL: expired claims and claims of dead
// workers are released with backoff or dead-lettered, fenced, guarded and audited; and end to
// end, a SIGKILLed payment worker's order is paid exactly once without waiting for its lease.
#include <doctest/doctest.h>
#include <signal.h>

#include <memory>
#include <pqxx/pqxx>
#include <set>

#include "controller/reconcilers/expired_claims_reconciler.hpp"
#include "core/pg/claim_head.hpp"
#include "core/pg/claim_recovery.hpp"
#include "core/pg/leader_lease.hpp"
#include "core/pg/outbox_store.hpp"
#include "tests/support/controller_harness.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redrive_processes.hpp"

namespace {

using namespace redrive::testing;
using namespace std::chrono_literals;
using redrive::controller::CycleContext;
using redrive::controller::ExpiredClaimsReconciler;

constexpr const char* kInstance = kControllerTestInstance;
constexpr const char* kCycle = "00000000-0000-4000-8000-000000000001";

struct Harness : ControllerHarness {
  Harness() : ControllerHarness(kCycle) {}
  double Redrives(const std::string& kind, const std::string& outcome) {
    return metrics.Redrives(kind, outcome).Value();
  }
};

// Places an order and makes its payment event look claimed by `worker`, its lease ending at
// now() + `lease_left` (an SQL interval), after `attempts` claims. Returns the outbox id.
std::string ClaimedEvent(const std::string& url, const std::string& worker,
                         const std::string& lease_left, int attempts = 1) {
  const std::string order = PlaceOrder(url);
  return QueryValue(url, "UPDATE outbox SET claimed_by = '" + worker +
                             "', claimed_until = now() + interval '" + lease_left +
                             "', attempts = " + std::to_string(attempts) +
                             " WHERE aggregate_id = '" + order + "' RETURNING id");
}

std::string Row(const std::string& url, const std::string& id, const std::string& columns) {
  return QueryValue(url, "SELECT " + columns + " FROM outbox WHERE id = " + id);
}

// Every column a recovery could change, and the completions (a completed row leaves the
// outbox for processed_events), for "nothing changed" checks.
std::string OutboxSnapshot(const std::string& url) {
  return QueryValue(url,
                    "SELECT string_agg(concat_ws('|', id, claimed_by, claimed_until, available_at, "
                    "attempts, dead_at, last_error), ';' ORDER BY id) FROM outbox") +
         QueryValue(url,
                    "SELECT string_agg(concat_ws('|', event_id, consumer), ';' ORDER BY "
                    "event_id) FROM processed_events");
}

int Count(const std::string& url, const std::string& sql) {
  return std::stoi(QueryValue(url, sql));
}

}  // namespace

TEST_CASE("an expired claim is released with backoff and audited") {
  Harness h;
  const std::string id = ClaimedEvent(h.url, "worker-gone", "-5 seconds", 2);

  ExpiredClaimsReconciler reconciler;
  auto context = h.Context();
  const auto result = reconciler.Reconcile(context);

  CHECK_FALSE(result.error);
  CHECK(result.acted == 1);
  CHECK(result.conflicts == 0);
  CHECK(Row(h.url, id,
            "claimed_by IS NULL AND claimed_until IS NULL AND dead_at IS NULL AND "
            "attempts = 2") == "t");
  CHECK(Count(h.url, "SELECT count(*) FROM processed_events") == 0);
  CHECK(Row(h.url, id, "last_error").find("lease of worker-gone expired") != std::string::npos);
  // backoff(2 attempts, base 500 ms, jitter 0.5) = 500 ms after the recovery's now(), which is
  // also the audit row's time: the same transaction.
  CHECK(QueryValue(h.url,
                   "SELECT o.available_at - l.at = interval '500 milliseconds' "
                   "FROM outbox o JOIN redrive_log l ON l.event_id = o.event_id "
                   "WHERE o.id = " +
                       id) == "t");
  CHECK(QueryValue(h.url,
                   "SELECT concat_ws('|', actor, cycle_id, epoch, rule, outcome, dry_run, "
                   "order_id IS NOT NULL) FROM redrive_log") ==
        std::string(kInstance) + "|" + kCycle + "|" + std::to_string(h.fence.epoch) +
            "|expired_claim|applied|f|t");
  CHECK(QueryValue(h.url, "SELECT reason FROM redrive_log").find("released") != std::string::npos);
  CHECK(h.Redrives("expired_claim", "applied") == 1);
  CHECK(h.budget.remaining() == 99);
}

TEST_CASE("a claim whose attempts are spent is dead-lettered with reason max_attempts") {
  Harness h;
  h.config.worker.max_attempts = 3;
  const std::string id = ClaimedEvent(h.url, "worker-gone", "-1 seconds", 3);

  ExpiredClaimsReconciler reconciler;
  auto context = h.Context();
  const auto result = reconciler.Reconcile(context);

  CHECK_FALSE(result.error);
  CHECK(result.acted == 1);
  CHECK(Row(h.url, id, "dead_at IS NOT NULL AND claimed_by IS NULL") == "t");
  CHECK(Count(h.url, "SELECT count(*) FROM processed_events") == 0);
  CHECK(
      QueryValue(h.url,
                 "SELECT concat_ws('|', d.reason, d.attempts, d.consumer, d.event_type, "
                 "d.payload = o.payload, d.event_id = o.event_id, d.aggregate_id = o.aggregate_id, "
                 "d.last_error IS NOT NULL) FROM dead_letter_events d JOIN outbox o "
                 "ON o.id = d.outbox_id WHERE o.id = " +
                     id) == "max_attempts|3|payment|OrderCreated|t|t|t|t");
  CHECK(QueryValue(h.url, "SELECT rule || '|' || outcome FROM redrive_log") ==
        "expired_claim|applied");
  CHECK(QueryValue(h.url, "SELECT reason FROM redrive_log").find("dead-lettered max_attempts") !=
        std::string::npos);
}

TEST_CASE("a live worker's claim is left alone until its lease expires") {
  Harness h;
  pqxx::connection live(h.url + "?application_name=worker-live");
  const std::string id = ClaimedEvent(h.url, "worker-live", "30 seconds");
  const std::string before = OutboxSnapshot(h.url);

  ExpiredClaimsReconciler reconciler;
  auto context = h.Context();
  const auto result = reconciler.Reconcile(context);
  CHECK_FALSE(result.error);
  CHECK(result.acted == 0);
  CHECK(OutboxSnapshot(h.url) == before);
  CHECK(Count(h.url, "SELECT count(*) FROM redrive_log") == 0);
  CHECK(h.budget.remaining() == 100);

  // A stalled worker (alive, lease run out) loses the claim all the same.
  Execute(h.url, "UPDATE outbox SET claimed_until = now() - interval '1 second' WHERE id = " + id);
  auto next = h.Context();
  CHECK(reconciler.Reconcile(next).acted == 1);
  CHECK(Row(h.url, id, "claimed_by IS NULL") == "t");
  CHECK(QueryValue(h.url, "SELECT rule FROM redrive_log") == "expired_claim");
}

TEST_CASE("a claim whose holder has no database session is recovered at once") {
  Harness h;
  // A session of another database with that name proves nothing about this one.
  pqxx::connection elsewhere(SharedCluster().Url() + "?application_name=worker-killed");
  const std::string id = ClaimedEvent(h.url, "worker-killed", "30 seconds");

  ExpiredClaimsReconciler reconciler;
  auto context = h.Context();
  const auto result = reconciler.Reconcile(context);

  CHECK_FALSE(result.error);
  CHECK(result.acted == 1);
  CHECK(Row(h.url, id, "claimed_by IS NULL AND available_at < now() + interval '1 second'") == "t");
  CHECK(Row(h.url, id, "last_error").find("worker-killed has no database session") !=
        std::string::npos);
  CHECK(QueryValue(h.url, "SELECT rule || '|' || outcome FROM redrive_log") ==
        "dead_worker_claim|applied");
  CHECK(h.Redrives("dead_worker_claim", "applied") == 1);
}

TEST_CASE("a worker completing the row between the scan and the write wins and is a conflict") {
  Harness h;
  h.config.worker.max_attempts = 2;
  const std::string released = ClaimedEvent(h.url, "worker-slow", "-10 seconds", 1);
  const std::string dead_lettered = ClaimedEvent(h.url, "worker-slow", "-5 seconds", 2);

  ExpiredClaimsReconciler reconciler;
  // The worker's own completion, landing after the controller read the claim.
  pqxx::connection worker(h.url);
  reconciler.SetBeforeWriteHookForTesting([&](const redrive::pg::RecoverableClaim& claim) {
    CHECK(redrive::pg::CompleteMany(worker, {claim.outbox_id}) == 1);
  });
  auto context = h.Context();
  const auto result = reconciler.Reconcile(context);

  CHECK_FALSE(result.error);
  CHECK(result.acted == 0);
  CHECK(result.conflicts == 2);
  // Both completed as the worker left them: the rows gone, their records written, neither
  // released nor dead-lettered by the controller.
  CHECK(Count(h.url, "SELECT count(*) FROM outbox") == 0);
  CHECK(QueryValue(h.url,
                   "SELECT string_agg(attempts::text, ',' ORDER BY attempts) FROM "
                   "processed_events WHERE consumer = 'payment' AND event_type = 'OrderCreated' "
                   "AND aggregate_id IS NOT NULL") == "1,2");
  CHECK(Count(h.url, "SELECT count(*) FROM dead_letter_events") == 0);
  CHECK(QueryValue(h.url, "SELECT string_agg(DISTINCT outcome, ',') FROM redrive_log") ==
        "conflict");
  CHECK(Count(h.url, "SELECT count(*) FROM redrive_log") == 2);
  CHECK(h.Redrives("expired_claim", "conflict") == 2);
}

TEST_CASE("a controller whose lease was taken over writes nothing") {
  Harness h;
  const std::string id = ClaimedEvent(h.url, "worker-gone", "-5 seconds");
  // The lease runs out while this controller is paused, and another one takes it.
  Execute(h.url, "UPDATE controller_leases SET expires_at = now() - interval '1 second'");
  const auto successor = TakeLease(h.connection, "controller-other");
  REQUIRE(successor.epoch == h.fence.epoch + 1);
  const std::string before = OutboxSnapshot(h.url);

  ExpiredClaimsReconciler reconciler;
  auto context = h.Context();  // still the old fence
  const auto result = reconciler.Reconcile(context);

  REQUIRE(result.error);
  CHECK(result.error->find("fenced") != std::string::npos);
  CHECK(result.acted == 0);
  CHECK(OutboxSnapshot(h.url) == before);
  CHECK(Count(h.url, "SELECT count(*) FROM redrive_log") == 0);
  CHECK(h.Redrives("expired_claim", "fenced") == 1);
}

TEST_CASE("a dry run writes only audit rows marked dry_run") {
  Harness h;
  h.config.worker.max_attempts = 3;
  ClaimedEvent(h.url, "worker-gone", "-5 seconds", 1);
  ClaimedEvent(h.url, "worker-gone", "-4 seconds", 3);  // would be dead-lettered
  ClaimedEvent(h.url, "worker-killed", "30 seconds", 1);
  const std::string before = OutboxSnapshot(h.url);

  ExpiredClaimsReconciler reconciler;
  auto context = h.Context(/*dry_run=*/true);
  const auto result = reconciler.Reconcile(context);

  CHECK_FALSE(result.error);
  CHECK(result.acted == 3);
  CHECK(OutboxSnapshot(h.url) == before);
  CHECK(Count(h.url, "SELECT count(*) FROM dead_letter_events") == 0);
  CHECK(Count(h.url, "SELECT count(*) FROM redrive_log WHERE dry_run AND outcome = 'dry_run'") ==
        3);
  CHECK(Count(h.url, "SELECT count(*) FROM redrive_log") == 3);
  CHECK(QueryValue(h.url,
                   "SELECT count(*) FROM redrive_log WHERE reason LIKE "
                   "'%dead-lettered max_attempts%'") == "1");
  CHECK(h.Redrives("expired_claim", "dry_run") == 2);
  CHECK(h.Redrives("dead_worker_claim", "dry_run") == 1);
}

TEST_CASE("the budget caps how many claims are recovered per cycle, oldest first") {
  Harness h;
  h.budget = redrive::decide::RedriveBudget(2, false);
  std::vector<std::string> ids;
  for (int age : {10, 50, 30, 40, 20}) {
    ids.push_back(ClaimedEvent(h.url, "worker-gone", "-" + std::to_string(age) + " seconds"));
  }

  ExpiredClaimsReconciler reconciler;
  auto context = h.Context();
  const auto result = reconciler.Reconcile(context);

  CHECK_FALSE(result.error);
  CHECK(result.acted == 2);
  CHECK(result.deferred == 3);
  CHECK(h.budget.remaining() == 0);
  // The two oldest leases (50 s and 40 s overdue) went first.
  CHECK(QueryValue(h.url,
                   "SELECT string_agg(id::text, ',' ORDER BY id) FROM outbox "
                   "WHERE claimed_by IS NULL") == ids[1] + "," + ids[3]);

  // Level-triggered: the next cycle, with a fresh budget, takes the rest.
  h.budget = redrive::decide::RedriveBudget(100, false);
  auto next = h.Context();
  CHECK(reconciler.Reconcile(next).acted == 3);
  CHECK(Count(h.url, "SELECT count(*) FROM outbox WHERE claimed_by IS NOT NULL") == 0);
}

TEST_CASE("a SIGKILLed worker's claim is re-driven at once and its order is paid exactly once") {
  Harness h;
  GatewaySim gateway({"--latency-ms", "3000"});
  const std::map<std::string, std::string> env = {{"REDRIVE_GATEWAY_URL", gateway.Url()},
                                                  {"REDRIVE_GATEWAY_TIMEOUT_MS", "10000"},
                                                  {"REDRIVE_WORKER_MAX_ATTEMPTS", "1000"}};
  auto doomed = std::make_unique<WorkerProcess>(h.url, "payment", env);
  REQUIRE(doomed->WaitReady());
  const std::string order = PlaceOrder(h.url);
  auto on_event = [&](const std::string& columns) {
    return "SELECT " + columns + " FROM outbox WHERE aggregate_id = '" + order + "'";
  };
  // Claimed, and the charge is in flight at the (slow) gateway.
  REQUIRE(WaitForValue(h.url, on_event("claimed_by IS NOT NULL"), "t", 10s));
  REQUIRE(WaitForValue(
      h.url, "SELECT charge_requested_at IS NOT NULL FROM orders WHERE id = '" + order + "'", "t",
      10s));
  const std::string holder = QueryValue(h.url, on_event("claimed_by"));

  doomed->process().Signal(SIGKILL);
  REQUIRE(doomed->process().Wait(10s).has_value());
  // PostgreSQL drops a killed client's sessions as soon as their sockets close.
  REQUIRE(WaitForValue(
      h.url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + holder + "'", "0",
      10s));
  // The 30 s lease is far from over.
  CHECK(QueryValue(h.url, on_event("claimed_until > now() + interval '20 seconds'")) == "t");

  ExpiredClaimsReconciler reconciler;
  auto context = h.Context();
  const auto result = reconciler.Reconcile(context);
  CHECK_FALSE(result.error);
  CHECK(result.acted == 1);
  CHECK(QueryValue(h.url, on_event("claimed_by IS NULL AND dead_at IS NULL")) == "t");
  CHECK(QueryValue(h.url, "SELECT rule || '|' || outcome FROM redrive_log") ==
        "dead_worker_claim|applied");

  gateway.SetFaults({{"latency_ms", 0}});
  WorkerProcess survivor(h.url, "payment", env);
  CHECK(WaitForValue(h.url, "SELECT state FROM orders WHERE id = '" + order + "'", "PAID", 30s));
  CHECK(gateway.LedgerOrders().at(order).at("captures").get<int>() == 1);
  CHECK(Count(h.url, "SELECT count(*) FROM outbox WHERE consumer = 'webhook'") == 1);
}

// Claimed rows have no index of their own: lease recovery reads them at the head of each
// consumer's outbox_claimable_idx (claim_head.hpp). This puts expired claims where a large
// live backlog surrounds them, unclaimed rows of the same consumer both ahead of them (a
// producer's long transaction commits rows older than ones already claimed) and behind them,
// and other consumers' rows, live, backing off and dead, and checks that each is found.
TEST_CASE("lease recovery finds expired claims among thousands of unclaimed rows") {
  Harness h;
  const auto insert = [&](const std::string& consumer, int rows, const std::string& available_at,
                          const std::string& extra_columns = "",
                          const std::string& extra_values = "") {
    Execute(h.url, "INSERT INTO outbox (consumer, event_type, payload, available_at" +
                       extra_columns + ") SELECT '" + consumer + "', 'Ping', '{}', " +
                       available_at + extra_values + " FROM generate_series(1, " +
                       std::to_string(rows) + ")");
  };
  const auto claim = [&](const std::string& consumer, const std::string& available_at) {
    return QueryValue(h.url,
                      "INSERT INTO outbox (consumer, event_type, payload, available_at, attempts, "
                      "claimed_by, claimed_until) VALUES ('" +
                          consumer + "', 'Ping', '{}', " + available_at +
                          ", 1, 'worker-gone', now() - interval '5 seconds') RETURNING id");
  };
  // payment: 2,000 unclaimed rows ahead of its expired claim, 5,000 behind it, 300 backing off.
  insert("payment", 2000, "now() - interval '2 hours'");
  const std::string payment = claim("payment", "now() - interval '1 hour'");
  insert("payment", 5000, "now() - interval '30 minutes'");
  insert("payment", 300, "now() + interval '1 hour'");
  // webhook: its expired claim first, 3,000 unclaimed rows behind it.
  const std::string webhook = claim("webhook", "now() - interval '1 hour'");
  insert("webhook", 3000, "now() - interval '10 minutes'");
  // noop: only unclaimed rows; archive: only dead ones (claims are never kept on dead rows).
  insert("noop", 1000, "now() - interval '3 hours'");
  insert("archive", 500, "now() - interval '3 hours'", ", dead_at", ", now()");
  Execute(h.url, "ANALYZE outbox");
  REQUIRE(7300 + 3000 + 1000 + 2 < redrive::pg::kClaimHeadRows);

  const auto claims = redrive::pg::FindRecoverableClaims(h.connection, 100);
  std::set<std::string> found;
  for (const auto& c : claims) {
    found.insert(c.consumer + ":" + std::to_string(c.outbox_id));
    CHECK(c.claimed_by == "worker-gone");
    CHECK(c.fault == redrive::pg::ClaimFault::kExpired);
  }
  CHECK(found == std::set<std::string>{"payment:" + payment, "webhook:" + webhook});

  // And the reconciler gives both back.
  ExpiredClaimsReconciler reconciler;
  auto context = h.Context();
  CHECK(reconciler.Reconcile(context).acted == 2);
  CHECK(Count(h.url, "SELECT count(*) FROM outbox WHERE claimed_by IS NOT NULL") == 0);
}
