// The schema contract: migrations, place_order, the NOTIFY trigger and table rules, on a
// real PostgreSQL.
#include <doctest/doctest.h>

#include <chrono>
#include <pqxx/pqxx>
#include <set>
#include <thread>
#include <vector>

#include "core/pg/migrations.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/process.hpp"

namespace {

using redrive::testing::BinaryPath;
using redrive::testing::MigratedDatabase;
using redrive::testing::RunCommand;
using redrive::testing::TestDatabase;

int CountRows(pqxx::connection& connection, const std::string& sql) {
  pqxx::read_transaction tx(connection);
  return tx.exec1(sql)[0].as<int>();
}

class Collector final : public pqxx::notification_receiver {
 public:
  Collector(pqxx::connection_base& connection, const std::string& channel)
      : pqxx::notification_receiver(connection, channel) {}
  void operator()(const std::string& payload, int) override { payloads.push_back(payload); }
  std::vector<std::string> payloads;
};

}  // namespace

TEST_CASE("migrations create every table of the design in an empty database") {
  TestDatabase database;
  pqxx::connection connection(database.Url());
  const auto report = redrive::pg::Migrate(connection);

  const auto& migrations = redrive::pg::EmbeddedMigrations();
  REQUIRE_FALSE(migrations.empty());
  CHECK(report.applied.size() == migrations.size());
  CHECK(report.current_version == migrations.back().version);
  for (const char* table : {"orders", "outbox", "processed_events", "dead_letter_events",
                            "redrive_log", "controller_leases", "schema_migrations"}) {
    INFO("table ", table);
    pqxx::read_transaction tx(connection);
    CHECK(tx.exec_params1("SELECT to_regclass($1) IS NOT NULL", std::string(table))[0].as<bool>());
  }
}

TEST_CASE("applying migrations again is a no-op") {
  MigratedDatabase database;
  pqxx::connection connection(database.Url());
  const int version_before = redrive::pg::SchemaVersion(connection);
  const auto report = redrive::pg::Migrate(connection);
  CHECK(report.applied.empty());
  CHECK(report.current_version == version_before);
  CHECK(CountRows(connection, "SELECT count(*) FROM schema_migrations") ==
        static_cast<int>(redrive::pg::EmbeddedMigrations().size()));
}

TEST_CASE("two redrivectl migrate processes at once apply each migration exactly once") {
  TestDatabase database;
  const std::map<std::string, std::string> env = {{"REDRIVE_DATABASE_URL", database.Url()}};
  redrive::testing::CommandResult first, second;
  std::thread racer([&] { first = RunCommand({BinaryPath("redrivectl"), "migrate"}, env); });
  second = RunCommand({BinaryPath("redrivectl"), "migrate"}, env);
  racer.join();
  INFO("first: ", first.output, "\nsecond: ", second.output);
  CHECK(first.exit_code == 0);
  CHECK(second.exit_code == 0);

  pqxx::connection connection(database.Url());
  CHECK(CountRows(connection, "SELECT count(DISTINCT version) FROM schema_migrations") ==
        static_cast<int>(redrive::pg::EmbeddedMigrations().size()));
  CHECK(CountRows(connection, "SELECT count(*) FROM schema_migrations") ==
        static_cast<int>(redrive::pg::EmbeddedMigrations().size()));
}

TEST_CASE("redrivectl migrate reports up to date on the second run") {
  MigratedDatabase database;
  const auto result = RunCommand({BinaryPath("redrivectl"), "-o", "json", "migrate"},
                                 {{"REDRIVE_DATABASE_URL", database.Url()}});
  CHECK(result.exit_code == 0);
  CHECK(result.output.find("\"applied\":[]") != std::string::npos);
}

TEST_CASE("a migration edited after it was applied is refused") {
  MigratedDatabase database;
  pqxx::connection connection(database.Url());
  auto migrations = redrive::pg::EmbeddedMigrations();
  const std::string edited = std::string(migrations.front().sql) + "\n-- edited\n";
  migrations.front().sql = edited.c_str();
  CHECK_THROWS_WITH_AS(redrive::pg::Migrate(connection, migrations),
                       doctest::Contains("edited after it was applied"), std::runtime_error);
}

TEST_CASE("a database newer than the binary is refused instead of migrated down") {
  MigratedDatabase database;
  pqxx::connection connection(database.Url());
  {
    pqxx::work tx(connection);
    tx.exec0("INSERT INTO schema_migrations (version, name, checksum) VALUES (999, 'future', 'x')");
    tx.commit();
  }
  CHECK_THROWS_WITH_AS(redrive::pg::Migrate(connection),
                       doctest::Contains("newer than this binary"), std::runtime_error);
}

TEST_CASE("place_order writes the order and its payment event together") {
  MigratedDatabase database;
  pqxx::connection connection(database.Url());
  pqxx::work tx(connection);
  const auto order_id =
      tx.exec1("SELECT place_order('customer-1', 1250, 'eur')")[0].as<std::string>();
  const auto order = tx.exec_params1(
      "SELECT state, amount_cents, currency, version, charge_requested_at IS NULL "
      "FROM orders WHERE id = $1",
      order_id);
  CHECK(order[0].as<std::string>() == "CREATED");
  CHECK(order[1].as<long long>() == 1250);
  CHECK(order[2].as<std::string>() == "EUR");
  CHECK(order[3].as<int>() == 1);
  CHECK(order[4].as<bool>());

  const auto event = tx.exec_params(
      "SELECT consumer, event_type, payload->>'order_id', attempts, dead_at IS NULL, "
      "claimed_by IS NULL FROM outbox WHERE aggregate_id = $1",
      order_id);
  REQUIRE(event.size() == 1);
  CHECK(event[0][0].as<std::string>() == "payment");
  CHECK(event[0][1].as<std::string>() == "OrderCreated");
  CHECK(event[0][2].as<std::string>() == order_id);
  CHECK(event[0][3].as<int>() == 0);
  CHECK(event[0][4].as<bool>());
  CHECK(event[0][5].as<bool>());
}

TEST_CASE("a rejected order leaves neither an order nor an outbox row") {
  MigratedDatabase database;
  pqxx::connection connection(database.Url());
  {
    pqxx::work tx(connection);
    CHECK_THROWS_AS(tx.exec("SELECT place_order('customer-1', -5, 'EUR')"), pqxx::sql_error);
  }
  {
    pqxx::work tx(connection);
    tx.exec("SELECT place_order('customer-1', 500, 'EUR')");
    tx.abort();  // the caller's transaction owns both rows
  }
  CHECK(CountRows(connection, "SELECT count(*) FROM orders") == 0);
  CHECK(CountRows(connection, "SELECT count(*) FROM outbox") == 0);
}

TEST_CASE("placing an order wakes listeners of the payment channel at commit") {
  MigratedDatabase database;
  pqxx::connection listener(database.Url());
  Collector payment(listener, "redrive_outbox_payment");
  Collector webhook(listener, "redrive_outbox_webhook");

  pqxx::connection writer(database.Url());
  {
    pqxx::work tx(writer);
    tx.exec("SELECT place_order('customer-1', 100, 'USD')");
    tx.commit();
  }
  const bool woke = redrive::testing::WaitUntil([&] {
    listener.await_notification(0, 100000);
    return !payment.payloads.empty();
  });
  CHECK(woke);
  CHECK(payment.payloads.front() == "OrderCreated");
  CHECK(webhook.payloads.empty());
}

TEST_CASE("an outbox row needs only event_id, consumer, event_type and payload") {
  MigratedDatabase database;
  pqxx::connection connection(database.Url());
  pqxx::work tx(connection);
  const auto row = tx.exec1(
      "INSERT INTO outbox (event_id, consumer, event_type, payload) "
      "VALUES (gen_random_uuid(), 'webhook', 'Ping', '{}') "
      "RETURNING attempts, available_at <= now(), claimed_by IS NULL, dead_at IS NULL");
  CHECK(row[0].as<int>() == 0);
  CHECK(row[1].as<bool>());
  CHECK(row[2].as<bool>());
  CHECK(row[3].as<bool>());
}

TEST_CASE("an outbox row may leave event_id out and gets a time-ordered one") {
  MigratedDatabase database;
  pqxx::connection connection(database.Url());
  pqxx::work tx(connection);
  const auto id = tx.exec1(
                        "INSERT INTO outbox (consumer, event_type, payload) "
                        "VALUES ('webhook', 'Ping', '{}') RETURNING event_id::text")[0]
                      .as<std::string>();
  REQUIRE(id.size() == 36);
  CHECK(id[14] == '7');  // version 7
}

// UUID version 7 (RFC 9562): the version nibble 7, the variant bits 10, and the first 48
// bits the Unix time in milliseconds, so ids made later sort after ids made earlier.
TEST_CASE("redrive_uuid_v7 makes version 7 ids that carry the time and sort by it") {
  MigratedDatabase database;
  pqxx::connection connection(database.Url());
  pqxx::nontransaction tx(connection);
  const auto shape = tx.exec1(
      "WITH ids AS (SELECT redrive_uuid_v7() AS id FROM generate_series(1, 1000)) "
      "SELECT count(*) FILTER (WHERE substr(id::text, 15, 1) = '7'), "
      "       count(*) FILTER (WHERE substr(id::text, 20, 1) IN ('8', '9', 'a', 'b')), "
      "       count(DISTINCT id) FROM ids");
  CHECK(shape[0].as<int>() == 1000);
  CHECK(shape[1].as<int>() == 1000);
  CHECK(shape[2].as<int>() == 1000);

  // The embedded time is now, to the millisecond (within the statement's few ms).
  const auto skew_ms = tx.exec1(
                             "SELECT abs(('x' || lpad(replace(substr(redrive_uuid_v7()::text, 1, "
                             "13), '-', ''), 16, '0'))::bit(64)::bigint - "
                             "floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)")[0]
                           .as<long long>();
  CHECK(skew_ms < 1000);

  const auto earlier = tx.exec1("SELECT redrive_uuid_v7()::text")[0].as<std::string>();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto later = tx.exec1("SELECT redrive_uuid_v7()::text")[0].as<std::string>();
  CHECK(earlier < later);
  CHECK(tx.exec_params1("SELECT $1::uuid < $2::uuid", earlier, later)[0].as<bool>());
}

TEST_CASE("place_order gives the order and its event time-ordered ids") {
  MigratedDatabase database;
  pqxx::connection connection(database.Url());
  pqxx::work tx(connection);
  const auto order_id =
      tx.exec1("SELECT place_order('customer-1', 100, 'EUR')::text")[0].as<std::string>();
  const auto event_id =
      tx.exec_params1("SELECT event_id::text FROM outbox WHERE aggregate_id = $1", order_id)[0]
          .as<std::string>();
  CHECK(order_id[14] == '7');
  CHECK(event_id[14] == '7');
}

TEST_CASE("the same event cannot be queued twice for one consumer") {
  MigratedDatabase database;
  pqxx::connection connection(database.Url());
  pqxx::work tx(connection);
  const std::string insert =
      "INSERT INTO outbox (event_id, consumer, event_type, payload) "
      "VALUES ('6f1c1f8e-4a55-4d59-9f59-3a8f6f0c0a01', 'payment', 'OrderCreated', '{}')";
  tx.exec0(insert);
  CHECK_THROWS_AS(tx.exec0(insert), pqxx::unique_violation);
}

TEST_CASE("the audit log refuses updates") {
  MigratedDatabase database;
  pqxx::connection connection(database.Url());
  {
    pqxx::work tx(connection);
    tx.exec0("INSERT INTO redrive_log (actor, rule, outcome) VALUES ('test', 'manual', 'applied')");
    tx.commit();
  }
  pqxx::work tx(connection);
  CHECK_THROWS_WITH(tx.exec0("UPDATE redrive_log SET outcome = 'forged'"),
                    doctest::Contains("append-only"));
}

TEST_CASE("every order write moves updated_at so stuck means untouched") {
  MigratedDatabase database;
  pqxx::connection connection(database.Url());
  std::string order_id;
  {
    pqxx::work tx(connection);
    order_id = tx.exec1("SELECT place_order('c', 100, 'USD')")[0].as<std::string>();
    tx.exec_params0("UPDATE orders SET updated_at = now() - interval '1 hour' WHERE id = $1",
                    order_id);
    tx.commit();
  }
  pqxx::work tx(connection);
  CHECK(
      tx.exec_params1("SELECT updated_at < now() - interval '59 minutes' FROM orders WHERE id = $1",
                      order_id)[0]
          .as<bool>());
  tx.exec_params0("UPDATE orders SET redrive_count = redrive_count + 1 WHERE id = $1", order_id);
  CHECK(tx.exec_params1("SELECT updated_at > now() - interval '1 minute' FROM orders WHERE id = $1",
                        order_id)[0]
            .as<bool>());
}

namespace {

// The embedded migrations up to `version`: a database as an older binary left it.
std::vector<redrive::pg::Migration> MigrationsUpTo(int version) {
  std::vector<redrive::pg::Migration> older;
  for (const auto& migration : redrive::pg::EmbeddedMigrations()) {
    if (migration.version <= version) older.push_back(migration);
  }
  return older;
}

std::string Text(pqxx::connection& connection, const std::string& sql) {
  pqxx::read_transaction tx(connection);
  const auto row = tx.exec1(sql);
  return row[0].is_null() ? "" : row[0].as<std::string>();
}

}  // namespace

// Migration 006 (the live outbox) on a database with history: completed rows leave the
// outbox for their processed_events record, which gains the row's order, type, attempts and
// queueing time; live and dead rows stay as they were.
TEST_CASE("migration 006 moves completed outbox rows into processed_events") {
  TestDatabase database;
  pqxx::connection connection(database.Url());
  const auto before = redrive::pg::Migrate(connection, MigrationsUpTo(5));
  REQUIRE(before.current_version == 5);
  {
    pqxx::work tx(connection);
    tx.exec0(R"sql(
      INSERT INTO outbox (id, event_id, consumer, event_type, aggregate_id, payload, attempts,
                          available_at, claimed_by, claimed_until, completed_at, dead_at,
                          created_at)
      VALUES
        -- completed, with the idempotency record the worker wrote along with its effect
        (1, '00000000-0000-4000-8000-000000000001', 'payment', 'OrderCreated',
         '10000000-0000-4000-8000-000000000001', '{}', 2, now(), NULL, NULL,
         '2024-01-02 00:00:00+00', NULL, '2024-01-01 00:00:00+00'),
        -- completed, its record already trimmed by the janitor
        (2, '00000000-0000-4000-8000-000000000002', 'webhook', 'PaymentSucceeded',
         '10000000-0000-4000-8000-000000000002', '{}', 1, now(), NULL, NULL,
         '2024-01-03 00:00:00+00', NULL, '2024-01-01 12:00:00+00'),
        -- pending, claimed and dead: live work, left alone
        (3, '00000000-0000-4000-8000-000000000003', 'payment', 'OrderCreated',
         '10000000-0000-4000-8000-000000000003', '{}', 0, now(), NULL, NULL, NULL, NULL, now()),
        (4, '00000000-0000-4000-8000-000000000004', 'payment', 'OrderCreated', NULL, '{}', 1,
         now(), 'worker-1', now() + interval '30 seconds', NULL, NULL, now()),
        (5, '00000000-0000-4000-8000-000000000005', 'webhook', 'PaymentFailed', NULL, '{}', 3,
         now(), NULL, NULL, NULL, now(), now());
      INSERT INTO processed_events (event_id, consumer, processed_at) VALUES
        ('00000000-0000-4000-8000-000000000001', 'payment', '2024-01-02 00:00:01+00'),
        -- a record whose outbox row the janitor already trimmed: nothing more is known
        ('00000000-0000-4000-8000-000000000009', 'payment', '2024-01-01 00:00:00+00');
    )sql");
    tx.commit();
  }

  const auto report = redrive::pg::Migrate(connection);
  CHECK(report.applied == std::vector<int>{6});

  CHECK(Text(connection, "SELECT string_agg(id::text, ',' ORDER BY id) FROM outbox") == "3,4,5");
  CHECK(Text(connection,
             "SELECT string_agg(concat_ws('|', id, attempts, claimed_by, dead_at IS NOT NULL), "
             "',' ORDER BY id) FROM outbox") == "3|0|f,4|1|worker-1|f,5|3|t");
  // The record written with the effect keeps its time; the trimmed one is written again from
  // the row, completed when the row was.
  CHECK(Text(connection,
             "SELECT string_agg(concat_ws('|', right(event_id::text, 1), consumer, "
             "processed_at AT TIME ZONE 'UTC', right(aggregate_id::text, 1), event_type, "
             "attempts, queued_at AT TIME ZONE 'UTC'), ',' ORDER BY event_id) FROM "
             "processed_events") ==
        "1|payment|2024-01-02 00:00:01|1|OrderCreated|2|2024-01-01 00:00:00,"
        "2|webhook|2024-01-03 00:00:00|2|PaymentSucceeded|1|2024-01-01 12:00:00,"
        "9|payment|2024-01-01 00:00:00");

  // The contract of schema 006: no completed_at, the indexes of the live outbox (none of
  // which mentions a column a claim writes, so claims are HOT updates), room on every page.
  CHECK(Text(connection,
             "SELECT count(*) FROM information_schema.columns WHERE table_name = 'outbox' AND "
             "column_name = 'completed_at'") == "0");
  CHECK(Text(connection,
             "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE "
             "tablename = 'outbox'") ==
        "outbox_aggregate_idx,outbox_claimable_idx,outbox_event_consumer_key,"
        "outbox_pending_idx,outbox_pkey");
  CHECK(Text(connection,
             "SELECT count(*) FROM pg_indexes WHERE tablename = 'outbox' AND (indexdef LIKE "
             "'%claimed_by%' OR indexdef LIKE '%claimed_until%' OR indexdef LIKE '%attempts%')") ==
        "0");
  CHECK(Text(connection, "SELECT reloptions::text FROM pg_class WHERE relname = 'outbox'") ==
        "{fillfactor=40}");
  CHECK(Text(connection, "SELECT to_regclass('processed_events_aggregate_idx') IS NOT NULL") ==
        "t");
}
