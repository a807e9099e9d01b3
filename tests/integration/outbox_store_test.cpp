// The workers' outbox statements (core/pg/outbox_store) against the live-outbox contract of
// schema/006_live_outbox.sql, on a real PostgreSQL: completing deletes the row and records
// the event; a claim is an in-place (HOT) update.
#include "core/pg/outbox_store.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/pg_cluster.hpp"
#include "tests/support/redrive_processes.hpp"

namespace {

using redrive::testing::MigratedDatabase;
using redrive::testing::QueryValue;

// As long as the default instance id in a Kubernetes pod (hostname-pid,
// runtime::DefaultInstanceId): claimed_by is part of the claimed row version.
constexpr const char* kInstance = "redrive-worker-payment-7d9f8c6b5-x2x4z-1";

}  // namespace

TEST_CASE("completing a claimed event deletes its row and records what the row held") {
  MigratedDatabase database;
  const std::string url = database.Url();
  const std::string order = redrive::testing::PlaceOrder(url);
  // A second consumer of another event, and a row that is not completed.
  redrive::testing::Execute(
      url,
      "INSERT INTO outbox (consumer, event_type, aggregate_id, payload, created_at) VALUES "
      "('webhook', 'PaymentSucceeded', '" +
          order +
          "', '{}', now() - interval '1 hour'), ('webhook', 'PaymentFailed', NULL, '{}', now())");
  // The row as it was queued, before any claim.
  const std::string queued =
      QueryValue(url,
                 "SELECT string_agg(concat_ws('|', event_id, consumer, aggregate_id, event_type, "
                 "created_at), ',' ORDER BY id) FROM outbox WHERE event_type <> 'PaymentFailed'");

  pqxx::connection worker(url);
  // A retry: the payment event is claimed, released, and claimed again.
  auto payment =
      redrive::pg::Claim(worker, {.consumer = "payment", .instance_id = "worker-1", .limit = 1});
  REQUIRE(payment.size() == 1);
  REQUIRE(redrive::pg::Release(worker, payment[0], "worker-1", std::chrono::milliseconds(0),
                               "gateway_500"));
  payment =
      redrive::pg::Claim(worker, {.consumer = "payment", .instance_id = "worker-1", .limit = 1});
  REQUIRE(payment.size() == 1);
  CHECK(payment[0].attempts == 2);
  const auto webhook =
      redrive::pg::Claim(worker, {.consumer = "webhook", .instance_id = "worker-1", .limit = 1});
  REQUIRE(webhook.size() == 1);
  CHECK(webhook[0].event_type == "PaymentSucceeded");
  const std::vector<std::int64_t> ids = {payment[0].outbox_id, webhook[0].outbox_id};
  CHECK(redrive::pg::CompleteMany(worker, ids) == 2);

  CHECK(QueryValue(url, "SELECT string_agg(event_type, ',') FROM outbox") == "PaymentFailed");
  CHECK(QueryValue(url,
                   "SELECT string_agg(concat_ws('|', event_id, consumer, aggregate_id, "
                   "event_type, queued_at), ',' ORDER BY consumer) FROM processed_events") ==
        queued);
  CHECK(QueryValue(url,
                   "SELECT string_agg(consumer || ':' || attempts, ',' ORDER BY consumer) FROM "
                   "processed_events") == "payment:2,webhook:1");
  CHECK(QueryValue(url,
                   "SELECT bool_and(processed_at >= queued_at AND processed_at <= now()) FROM "
                   "processed_events") == "t");

  // Completing again finds no row and writes nothing.
  CHECK(redrive::pg::CompleteMany(worker, ids) == 0);
  CHECK(QueryValue(url, "SELECT count(*) FROM processed_events") == "2");
}

TEST_CASE("a dead-lettered row cannot be completed and stays in the outbox") {
  MigratedDatabase database;
  const std::string url = database.Url();
  redrive::testing::PlaceOrder(url);
  pqxx::connection worker(url);
  const auto claimed =
      redrive::pg::Claim(worker, {.consumer = "payment", .instance_id = "worker-1", .limit = 1});
  REQUIRE(claimed.size() == 1);
  REQUIRE(redrive::pg::DeadLetter(worker, claimed[0], "max_attempts", "gave up"));

  CHECK(redrive::pg::CompleteMany(worker, {claimed[0].outbox_id}) == 0);
  CHECK(QueryValue(url, "SELECT dead_at IS NOT NULL FROM outbox") == "t");
  CHECK(QueryValue(url, "SELECT count(*) FROM processed_events") == "0");
}

// A claim changes no indexed column of outbox, so PostgreSQL can update each claimed row in
// place: a HOT update, no index entry written, provided the row's page has room for the new
// version (schema/006_live_outbox.sql: fillfactor 40). Claims take the oldest rows, which
// fill whole pages, and the claimed version is the larger one (claimed_by, claimed_until):
// every row of a page must fit twice.
TEST_CASE("a claim is a HOT update of each claimed row") {
  struct Backlog {
    std::string name;
    std::string consumer;
    std::string insert;
    int claims;
  };
  const std::vector<Backlog> backlogs = {
      {"payment events as place_order queues them, claimed in a batch of 500", "payment",
       "SELECT count(place_order('customer-' || g, 1000 + g, 'USD')) "
       "FROM generate_series(1, 2000) g",
       500},
      {"small events, claimed in a batch of 220", "noop",
       "INSERT INTO outbox (consumer, event_type, payload) "
       "SELECT 'noop', 'Ping', jsonb_build_object('n', g) FROM generate_series(1, 300) g",
       220},
  };
  for (const Backlog& backlog : backlogs) {
    SUBCASE(backlog.name.c_str()) {
      MigratedDatabase database;
      pqxx::connection worker(database.Url());
      {
        pqxx::work tx(worker);
        tx.exec(backlog.insert);
        // Another consumer's rows, after them.
        tx.exec0(
            "INSERT INTO outbox (consumer, event_type, payload) "
            "SELECT 'webhook', 'Ping', '{}' FROM generate_series(1, 50)");
        tx.commit();
      }
      // Statistics reach pg_stat_user_tables when a session flushes them: a session flushes
      // whatever it has pending when it goes idle after pg_stat_force_next_flush().
      const auto updates = [&] {
        {
          pqxx::nontransaction tx(worker);
          tx.exec("SELECT pg_stat_force_next_flush()");
        }
        pqxx::connection reader(database.Url());
        pqxx::read_transaction tx(reader);
        const auto row = tx.exec1(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'outbox'");
        return std::pair{row[0].as<long long>(), row[1].as<long long>()};
      };
      const auto [updated_before, hot_before] = updates();

      const auto claimed = redrive::pg::Claim(
          worker,
          {.consumer = backlog.consumer, .instance_id = kInstance, .limit = backlog.claims});
      REQUIRE(claimed.size() == static_cast<std::size_t>(backlog.claims));

      const auto [updated_after, hot_after] = updates();
      CHECK(updated_after - updated_before == backlog.claims);
      CHECK(hot_after - hot_before == backlog.claims);
    }
  }
}
