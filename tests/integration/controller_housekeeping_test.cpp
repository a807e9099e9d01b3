// The controller's housekeeping on a real PostgreSQL: backlog gauges and the re-NOTIFY of a
// stale backlog, the janitor's batched deletes, the consistency checks, and that every scan
// the controller makes is served by a partial index in a large database.
#include <doctest/doctest.h>

#include <algorithm>
#include <pqxx/pqxx>
#include <regex>

#include "controller/reconcilers/backlog_reconciler.hpp"
#include "controller/reconcilers/consistency_reconciler.hpp"
#include "controller/reconcilers/janitor_reconciler.hpp"
#include "core/pg/claim_recovery.hpp"
#include "core/pg/leader_lease.hpp"
#include "core/pg/outbox_health.hpp"
#include "core/pg/stuck_orders.hpp"
#include "tests/support/controller_harness.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/redrive_processes.hpp"
#include "tests/support/scan_plans.hpp"

namespace {

using namespace redrive::testing;
using namespace std::chrono_literals;
using redrive::controller::CycleContext;

constexpr const char* kInstance = kControllerTestInstance;
constexpr const char* kCycle = "00000000-0000-4000-8000-000000000002";

struct Harness : ControllerHarness {
  Harness() : ControllerHarness(kCycle) {}
};

int Count(const std::string& url, const std::string& sql) {
  return std::stoi(QueryValue(url, sql));
}

std::string Snapshot(const std::string& url, const std::string& table) {
  return QueryValue(url,
                    "SELECT md5(coalesce(string_agg(t::text, ';' ORDER BY t::text), '')) "
                    "FROM " +
                        table + " t");
}

class Collector final : public pqxx::notification_receiver {
 public:
  Collector(pqxx::connection_base& connection, const std::string& channel)
      : pqxx::notification_receiver(connection, channel) {}
  void operator()(const std::string& payload, int) override { payloads.push_back(payload); }
  std::vector<std::string> payloads;
};

bool Received(const Collector& collector, const std::string& payload) {
  return std::find(collector.payloads.begin(), collector.payloads.end(), payload) !=
         collector.payloads.end();
}

void InsertOutbox(const std::string& url, int rows, const std::string& consumer,
                  const std::string& extra_columns, const std::string& extra_values) {
  Execute(url, "INSERT INTO outbox (event_id, consumer, event_type, payload" + extra_columns +
                   ") SELECT gen_random_uuid(), '" + consumer + "', 'OrderCreated', '{}'" +
                   extra_values + " FROM generate_series(1, " + std::to_string(rows) + ")");
}

}  // namespace

TEST_CASE(
    "the backlog gauges follow each consumer's pending events and drop to zero when drained") {
  Harness h;
  for (int i = 0; i < 3; ++i) PlaceOrder(h.url);
  Execute(h.url,
          "UPDATE outbox SET created_at = now() - interval '100 seconds' WHERE id = "
          "(SELECT min(id) FROM outbox)");
  InsertOutbox(h.url, 1, "webhook", "", "");
  // Consumed events are not backlog.
  InsertOutbox(h.url, 4, "webhook", "", "");
  REQUIRE(CompleteOutboxRows(h.url,
                             "id > (SELECT min(id) FROM outbox WHERE consumer = "
                             "'webhook')") == 4);
  Execute(h.url,
          "INSERT INTO dead_letter_events (outbox_id, event_id, consumer, event_type, "
          "payload, reason, replayed_at) SELECT g, gen_random_uuid(), 'payment', "
          "'OrderCreated', '{}', 'max_attempts', CASE WHEN g = 3 THEN now() END "
          "FROM generate_series(1, 3) g");
  Execute(h.url,
          "UPDATE orders SET state = 'NEEDS_REVIEW' WHERE id = (SELECT min(id::text)::uuid "
          "FROM orders)");

  redrive::controller::BacklogReconciler reconciler;
  auto context = h.Context();
  const auto result = reconciler.Reconcile(context);

  CHECK_FALSE(result.error);
  CHECK(result.acted == 0);  // 100 s is under the 300 s alert
  CHECK(h.metrics.BacklogEvents("payment").Value() == 3);
  CHECK(h.metrics.BacklogEvents("webhook").Value() == 1);
  CHECK(h.metrics.OldestPendingAge("payment").Value() >= 100);
  CHECK(h.metrics.OldestPendingAge("payment").Value() < 130);
  CHECK(h.metrics.DeadLetterEvents("payment").Value() == 2);
  CHECK(h.metrics.DeadLetterEvents("webhook").Value() == 0);
  CHECK(h.metrics.needs_review_orders.Value() == 1);
  CHECK(h.metrics.OpenOrders("NEEDS_REVIEW").Value() == 1);
  CHECK(h.metrics.OpenOrders("CREATED").Value() == 2);  // three placed, one under review
  CHECK(h.metrics.OpenOrders("PAYMENT_PENDING").Value() == 0);
  CHECK(Count(h.url, "SELECT count(*) FROM redrive_log") == 0);

  REQUIRE(CompleteOutboxRows(h.url, "true") == 4);
  auto next = h.Context();
  CHECK_FALSE(reconciler.Reconcile(next).error);
  CHECK(h.metrics.BacklogEvents("payment").Value() == 0);
  CHECK(h.metrics.OldestPendingAge("payment").Value() == 0);
  CHECK(h.metrics.BacklogEvents("webhook").Value() == 0);
  CHECK(h.metrics.OldestPendingAge("webhook").Value() == 0);
}

TEST_CASE("a backlog older than the alert threshold is notified again on the consumer's channel") {
  Harness h;
  h.config.controller.backlog_alert_seconds = 60;
  PlaceOrder(h.url);
  Execute(h.url, "UPDATE outbox SET created_at = now() - interval '10 minutes'");
  pqxx::connection listener(h.url);
  Collector payment(listener, "redrive_outbox_payment");

  redrive::controller::BacklogReconciler reconciler;
  SUBCASE("and audited") {
    auto context = h.Context();
    const auto result = reconciler.Reconcile(context);
    CHECK_FALSE(result.error);
    CHECK(result.acted == 1);
    CHECK(WaitUntil(
        [&] {
          listener.await_notification(0, 100'000);
          return Received(payment, "redrive_backlog");
        },
        5s));
    CHECK(QueryValue(h.url,
                     "SELECT concat_ws('|', rule, outcome, dry_run, actor) FROM "
                     "redrive_log") == std::string("backlog_renotify|applied|f|") + kInstance);
    CHECK(QueryValue(h.url, "SELECT reason FROM redrive_log").find("(alert at 60s)") !=
          std::string::npos);
    CHECK(h.metrics.Redrives("backlog_renotify", "applied").Value() == 1);
  }
  SUBCASE("but in dry run only audited") {
    auto context = h.Context(/*dry_run=*/true);
    const auto result = reconciler.Reconcile(context);
    CHECK_FALSE(result.error);
    CHECK(result.acted == 1);
    listener.await_notification(0, 500'000);
    CHECK_FALSE(Received(payment, "redrive_backlog"));
    CHECK(QueryValue(h.url, "SELECT concat_ws('|', rule, outcome, dry_run) FROM redrive_log") ==
          "backlog_renotify|dry_run|t");
    CHECK(h.metrics.Redrives("backlog_renotify", "dry_run").Value() == 1);
  }
}

// processed_events rows of `consumer`, processed `age` ago (an SQL interval).
void InsertProcessed(const std::string& url, int rows, const std::string& age,
                     const std::string& consumer = "payment") {
  Execute(url,
          "INSERT INTO processed_events (event_id, consumer, processed_at, event_type, attempts, "
          "queued_at) SELECT gen_random_uuid(), '" +
              consumer + "', now() - interval '" + age +
              "', 'OrderCreated', 1, now() - interval '" + age + "' FROM generate_series(1, " +
              std::to_string(rows) + ")");
}

// Completed outbox rows are deleted at once (schema/006): the janitor trims only their
// records, and never an outbox row, however old: what is left there is live work.
TEST_CASE("the janitor deletes only processed events past retention and no outbox row") {
  Harness h;
  h.config.controller.retention_hours = 24;
  // Old live rows: pending, claimed, backing off and dead.
  InsertOutbox(h.url, 1, "payment", ", created_at", ", now() - interval '48 hours'");
  InsertOutbox(h.url, 1, "payment", ", created_at, claimed_by, claimed_until",
               ", now() - interval '48 hours', 'worker-1', now() + interval '1 minute'");
  InsertOutbox(h.url, 1, "payment", ", created_at, available_at",
               ", now() - interval '48 hours', now() + interval '1 hour'");
  InsertOutbox(h.url, 1, "payment", ", dead_at, created_at",
               ", now() - interval '48 hours', now() - interval '48 hours'");
  // Records past retention: three written as a worker writes them, two older ones without
  // the columns of schema 006; and one inside retention.
  InsertOutbox(h.url, 3, "webhook", "", "");
  REQUIRE(CompleteOutboxRows(h.url, "consumer = 'webhook'") == 3);
  Execute(h.url, "UPDATE processed_events SET processed_at = now() - interval '48 hours'");
  Execute(h.url,
          "INSERT INTO processed_events (event_id, consumer, processed_at) SELECT "
          "gen_random_uuid(), 'payment', now() - interval '48 hours' FROM generate_series(1, 2)");
  InsertProcessed(h.url, 1, "1 hour");
  const std::string outbox_before = Snapshot(h.url, "outbox");

  redrive::controller::JanitorReconciler reconciler({.batch_size = 2, .max_batches_per_table = 10});
  auto context = h.Context();
  const auto result = reconciler.Reconcile(context);

  CHECK_FALSE(result.error);
  CHECK(result.acted == 5);
  CHECK(Snapshot(h.url, "outbox") == outbox_before);
  CHECK(Count(h.url, "SELECT count(*) FROM outbox") == 4);
  CHECK(Count(h.url, "SELECT count(*) FROM processed_events") == 1);
  CHECK(Count(h.url,
              "SELECT count(*) FROM processed_events WHERE processed_at > now() - "
              "interval '2 hours'") == 1);
  CHECK(h.metrics.JanitorDeleted("processed_events").Value() == 5);
  CHECK(h.metrics.JanitorDeleted("outbox").Value() == 0);
  // One audit row per batch that deleted something: processed_events 2+2+1.
  CHECK(Count(h.url,
              "SELECT count(*) FROM redrive_log WHERE rule = 'janitor' AND "
              "outcome = 'applied' AND NOT dry_run") == 3);
  CHECK(Count(h.url, "SELECT count(*) FROM redrive_log WHERE reason LIKE '%outbox%'") == 0);

  auto again = h.Context();
  CHECK(reconciler.Reconcile(again).acted == 0);
  CHECK(Count(h.url, "SELECT count(*) FROM redrive_log") == 3);
  CHECK(Snapshot(h.url, "outbox") == outbox_before);
}

TEST_CASE("the janitor's work per cycle is bounded and the rest waits for the next cycle") {
  Harness h;
  h.config.controller.retention_hours = 24;
  InsertProcessed(h.url, 5, "48 hours");

  redrive::controller::JanitorReconciler reconciler({.batch_size = 2, .max_batches_per_table = 2});
  auto context = h.Context();
  CHECK(reconciler.Reconcile(context).acted == 4);
  CHECK(Count(h.url, "SELECT count(*) FROM processed_events") == 1);
  auto next = h.Context();
  CHECK(reconciler.Reconcile(next).acted == 1);
  CHECK(Count(h.url, "SELECT count(*) FROM processed_events") == 0);
}

TEST_CASE("the janitor in dry run counts what would go and deletes nothing") {
  Harness h;
  h.config.controller.retention_hours = 24;
  // Old outbox rows are live work, never counted.
  InsertOutbox(h.url, 5, "payment", ", created_at", ", now() - interval '48 hours'");
  InsertProcessed(h.url, 4, "48 hours");

  redrive::controller::JanitorReconciler reconciler({.batch_size = 2, .max_batches_per_table = 10});
  auto context = h.Context(/*dry_run=*/true);
  const auto result = reconciler.Reconcile(context);

  CHECK_FALSE(result.error);
  CHECK(result.acted == 4);
  CHECK(Count(h.url, "SELECT count(*) FROM outbox") == 5);
  CHECK(Count(h.url, "SELECT count(*) FROM processed_events") == 4);
  CHECK(h.metrics.JanitorDeleted("processed_events").Value() == 0);
  CHECK(QueryValue(h.url,
                   "SELECT string_agg(reason, ',' ORDER BY id) FROM redrive_log "
                   "WHERE dry_run AND outcome = 'dry_run'") ==
        "would delete 4 processed_events rows past retention");
  CHECK(Count(h.url, "SELECT count(*) FROM redrive_log") == 1);
}

TEST_CASE("a janitor whose lease was taken over deletes nothing") {
  Harness h;
  h.config.controller.retention_hours = 24;
  InsertProcessed(h.url, 3, "48 hours");
  Execute(h.url, "UPDATE controller_leases SET expires_at = now() - interval '1 second'");
  TakeLease(h.connection, "controller-other");

  redrive::controller::JanitorReconciler reconciler;
  auto context = h.Context();
  const auto result = reconciler.Reconcile(context);
  REQUIRE(result.error);
  CHECK(result.error->find("fenced") != std::string::npos);
  CHECK(Count(h.url, "SELECT count(*) FROM processed_events") == 3);
  CHECK(Count(h.url, "SELECT count(*) FROM redrive_log") == 0);
}

TEST_CASE("the consistency checks count each class of violation and fix nothing") {
  Harness h;
  h.config.controller.stuck_after_seconds = 60;
  const std::string url = h.url;
  auto order = [&](const std::string& state, const std::string& age) {
    const std::string id = PlaceOrder(url);
    Execute(url, "UPDATE orders SET state = '" + state + "', created_at = now() - interval '" +
                     age + "' WHERE id = '" + id + "'");
    Execute(url, "UPDATE outbox SET created_at = now() - interval '" + age +
                     "' WHERE aggregate_id = '" + id + "'");
    return id;
  };
  auto payment_event = [&](const std::string& order_id, const std::string& set) {
    Execute(url, "UPDATE outbox SET " + set + " WHERE aggregate_id = '" + order_id + "'");
  };

  // completed_and_dead_lettered: an open dead letter whose event was consumed (it has a
  // processed_events row), for four webhook events completed as a worker completes them:
  // two open dead letters count, a replayed one and a discarded one do not. Nor does an open
  // dead letter of a dead row whose event another consumer consumed.
  InsertOutbox(url, 5, "webhook", "", "");
  Execute(url,
          "INSERT INTO dead_letter_events (outbox_id, event_id, consumer, event_type, "
          "payload, reason, replayed_at, discarded_at) SELECT id, event_id, consumer, "
          "event_type, payload, 'max_attempts', "
          "CASE WHEN id = (SELECT max(id) FROM outbox WHERE consumer = 'webhook') THEN now() END, "
          "CASE WHEN id = (SELECT max(id) - 1 FROM outbox WHERE consumer = 'webhook') "
          "THEN now() END FROM outbox WHERE consumer = 'webhook' AND id > (SELECT min(id) FROM "
          "outbox WHERE consumer = 'webhook')");
  REQUIRE(CompleteOutboxRows(url,
                             "consumer = 'webhook' AND id > (SELECT min(id) FROM outbox "
                             "WHERE consumer = 'webhook')") == 4);
  // The fifth webhook event is dead for webhook and consumed by payment.
  Execute(url,
          "UPDATE outbox SET dead_at = now() WHERE consumer = 'webhook';"
          "INSERT INTO dead_letter_events (outbox_id, event_id, consumer, event_type, payload, "
          "reason) SELECT id, event_id, consumer, event_type, payload, 'max_attempts' FROM outbox "
          "WHERE consumer = 'webhook';"
          "INSERT INTO processed_events (event_id, consumer) SELECT event_id, 'payment' FROM "
          "outbox WHERE consumer = 'webhook'");

  // settled_order_with_pending_payment: PAID and FAILED with a payment event pending for 10
  // minutes; a PAID one whose event is young does not count yet.
  order("PAID", "10 minutes");
  order("FAILED", "10 minutes");
  order("PAID", "1 second");

  // created_orphan: its payment event dead-lettered, or missing; not when it is pending, nor
  // when the order is young.
  payment_event(order("CREATED", "10 minutes"), "dead_at = now()");
  Execute(url, "DELETE FROM outbox WHERE aggregate_id = '" + order("CREATED", "10 minutes") + "'");
  order("CREATED", "10 minutes");
  payment_event(order("CREATED", "1 second"), "dead_at = now()");

  const auto before = Snapshot(url, "orders") + Snapshot(url, "outbox") +
                      Snapshot(url, "dead_letter_events") + Snapshot(url, "processed_events");
  redrive::controller::ConsistencyReconciler reconciler;
  auto context = h.Context();
  const auto result = reconciler.Reconcile(context);

  CHECK_FALSE(result.error);
  CHECK(result.acted == 0);
  CHECK(h.metrics.ConsistencyViolations("completed_and_dead_lettered").Value() == 2);
  CHECK(h.metrics.ConsistencyViolations("settled_order_with_pending_payment").Value() == 2);
  CHECK(h.metrics.ConsistencyViolations("created_orphan").Value() == 2);
  CHECK(h.metrics.StuckOrders("created_orphan").Value() == 2);
  CHECK(Snapshot(url, "orders") + Snapshot(url, "outbox") + Snapshot(url, "dead_letter_events") +
            Snapshot(url, "processed_events") ==
        before);
  CHECK(Count(url, "SELECT count(*) FROM redrive_log") == 0);

  // Once the rows are repaired the gauges go back to zero.
  Execute(url,
          "DELETE FROM dead_letter_events; DELETE FROM outbox; DELETE FROM orders; "
          "DELETE FROM processed_events");
  auto next = h.Context();
  CHECK_FALSE(reconciler.Reconcile(next).error);
  CHECK(h.metrics.ConsistencyViolations("completed_and_dead_lettered").Value() == 0);
  CHECK(h.metrics.ConsistencyViolations("created_orphan").Value() == 0);
  CHECK(h.metrics.StuckOrders("created_orphan").Value() == 0);
}

TEST_CASE("every controller scan is served by its partial index in a large database") {
  MigratedDatabase database;
  const std::string url = database.Url();
  // The rows that do not matter (inside retention), then a few that do. Consumed events are
  // records, not outbox rows; dead rows stay in the outbox.
  SeedSettledHistory(url, 200000, /*with_audit_rows=*/false);
  SeedDeadWebhooks(url, 50000);
  for (int i = 0; i < 20; ++i) PlaceOrder(url);
  Execute(url, R"sql(
    UPDATE outbox SET claimed_by = 'worker-1', claimed_until = now() + interval '30 seconds'
    WHERE id IN (SELECT id FROM outbox WHERE dead_at IS NULL LIMIT 10);
    UPDATE orders SET state = 'NEEDS_REVIEW' WHERE id IN (SELECT id FROM orders LIMIT 3);
    ANALYZE;
  )sql");

  auto scans = redrive::pg::ClaimRecoveryScans();
  for (const auto& scan : redrive::pg::OutboxHealthScans()) scans.push_back(scan);
  for (const auto& scan : redrive::pg::StuckOrderScans()) scans.push_back(scan);
  CheckScansUseTheirIndexes(url, scans);
}
