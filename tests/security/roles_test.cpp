// Least privilege (schema/004_roles.sql): the real worker, controller and redrivectl do all
// their work as LOGIN users that are members of redrive_worker, redrive_controller and
// redrive_readonly, and everything outside their job fails with SQLSTATE 42501.
#include <doctest/doctest.h>
#include <libpq-fe.h>

#include <filesystem>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "core/pg/migrations.hpp"
#include "core/pg/outbox_store.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/redrive_processes.hpp"
#include "tests/support/webhook_receiver.hpp"

namespace {

// The newest migration compiled in, as schema_migrations reports it.
std::string NewestVersion() {
  return std::to_string(redrive::pg::EmbeddedMigrations().back().version);
}

using namespace redrive::testing;
using namespace std::chrono_literals;

constexpr const char* kInsufficientPrivilege = "42501";

std::string UrlAs(const PgCluster& cluster, const std::string& user, const std::string& database) {
  return "postgresql://" + user + "@127.0.0.1:" + std::to_string(cluster.port()) + "/" + database;
}

// A LOGIN user in `role`, for one test. Roles are cluster-wide, so the name carries the test
// database's (unique) name and the user is dropped when the test ends.
class LoginUser {
 public:
  LoginUser(PgCluster& cluster, const TestDatabase& database, const std::string& suffix,
            const std::string& role, const std::string& attributes = "")
      : cluster_(cluster), database_(database.name()), name_(database.name() + "_" + suffix) {
    Execute(cluster_.Url(), "CREATE ROLE " + name_ + " LOGIN " + attributes +
                                (role.empty() ? "" : " IN ROLE " + role));
  }
  ~LoginUser() {
    try {
      Execute(
          cluster_.Url(),
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '" + name_ + "'");
      // Grants made to the user itself (not through its group role) would block the drop.
      Execute(cluster_.Url(database_), "DROP OWNED BY " + name_);
      Execute(cluster_.Url(), "DROP ROLE IF EXISTS " + name_);
    } catch (...) {
      // The cluster may be gone already; its roles went with it.
    }
  }
  LoginUser(const LoginUser&) = delete;
  LoginUser& operator=(const LoginUser&) = delete;

  const std::string& name() const { return name_; }
  std::string Url() const { return UrlAs(cluster_, name_, database_); }
  std::string Url(const std::string& database) const { return UrlAs(cluster_, name_, database); }

 private:
  PgCluster& cluster_;
  std::string database_;
  std::string name_;
};

// Runs `sql` in a transaction that is always rolled back; the SQLSTATE the server failed
// it with, or "" when it succeeded. Plain libpq: libpqxx 6.4 throws insufficient_privilege
// without its SQLSTATE.
std::string SqlState(const std::string& url, const std::string& sql) {
  const std::unique_ptr<PGconn, decltype(&PQfinish)> connection(PQconnectdb(url.c_str()),
                                                                &PQfinish);
  if (PQstatus(connection.get()) != CONNECTION_OK) {
    return "cannot connect: " + std::string(PQerrorMessage(connection.get()));
  }
  const auto run = [&](const std::string& statement) {
    const std::unique_ptr<PGresult, decltype(&PQclear)> result(
        PQexec(connection.get(), statement.c_str()), &PQclear);
    const auto status = PQresultStatus(result.get());
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return std::string();
    const char* state = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
    return state == nullptr ? "failed without SQLSTATE: " + std::string(PQresStatus(status))
                            : std::string(state);
  };
  run("BEGIN");
  const std::string state = run(sql);
  run("ROLLBACK");
  return state;
}

// Every statement fails with 42501 (insufficient_privilege).
void CheckForbidden(const LoginUser& user, const std::vector<std::string>& statements) {
  for (const std::string& sql : statements) {
    CAPTURE(user.name());
    CAPTURE(sql);
    CHECK(SqlState(user.Url(), sql) == kInsufficientPrivilege);
  }
}

void CheckAllowed(const LoginUser& user, const std::vector<std::string>& statements) {
  for (const std::string& sql : statements) {
    CAPTURE(user.name());
    CAPTURE(sql);
    CHECK(SqlState(user.Url(), sql) == "");
  }
}

int Count(const std::string& url, const std::string& sql) {
  return std::stoi(QueryValue(url, sql));
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The statements nobody but the owner may run, whatever the role.
const std::vector<std::string> kOwnerOnly = {
    "DROP TABLE orders",
    "DROP TABLE outbox",
    "TRUNCATE orders",
    "TRUNCATE outbox",
    "TRUNCATE redrive_log",
    "ALTER TABLE orders ADD COLUMN note text",
    "CREATE TABLE intruder (id int)",
    "DELETE FROM orders",
    "UPDATE orders SET amount_cents = 1",
    "UPDATE orders SET currency = 'EUR'",
    "UPDATE orders SET customer_id = 'someone-else'",
    "INSERT INTO orders (customer_id, amount_cents, currency) VALUES ('x', 1, 'USD')",
    "SELECT place_order('x', 100, 'USD')",
    "UPDATE outbox SET payload = '{}'",
    "UPDATE outbox SET consumer = 'webhook'",
    "DELETE FROM dead_letter_events",
    "UPDATE dead_letter_events SET replayed_at = now()",
    "UPDATE redrive_log SET outcome = 'applied'",
    "DELETE FROM redrive_log",
    "DELETE FROM controller_leases",
    "DELETE FROM schema_migrations",
    "SELECT setval('outbox_id_seq', 1)",
};

}  // namespace

TEST_CASE("security: the three group roles exist, cannot log in and hold no special powers") {
  MigratedDatabase database;
  const std::string url = database.Url();
  CHECK(QueryValue(url,
                   "SELECT string_agg(rolname || ':' || rolcanlogin || rolsuper || rolcreaterole "
                   "|| rolcreatedb || rolbypassrls, ',' ORDER BY rolname) FROM pg_roles "
                   "WHERE rolname IN ('redrive_worker', 'redrive_controller', "
                   "'redrive_readonly')") ==
        "redrive_controller:falsefalsefalsefalsefalse,redrive_readonly:falsefalsefalsefalsefalse,"
        "redrive_worker:falsefalsefalsefalsefalse");
  // Column-level where it matters: a worker moves an order, it never reprices it.
  CHECK(QueryValue(url,
                   "SELECT has_column_privilege('redrive_worker', 'orders', 'state', "
                   "'UPDATE')") == "t");
  CHECK(QueryValue(url,
                   "SELECT has_column_privilege('redrive_worker', 'orders', "
                   "'amount_cents', 'UPDATE')") == "f");
  CHECK(QueryValue(url,
                   "SELECT has_table_privilege('redrive_controller', 'redrive_log', "
                   "'UPDATE')") == "f");
  CHECK(QueryValue(url,
                   "SELECT has_function_privilege('public', 'place_order(text, bigint, "
                   "text)', 'EXECUTE')") == "f");
}

TEST_CASE(
    "security: a worker, a webhook worker and a controller running as their roles pay "
    "orders and do every controller job") {
  PgCluster& cluster = SharedCluster();
  MigratedDatabase database;
  const std::string owner = database.Url();
  LoginUser worker_user(cluster, database, "worker", "redrive_worker");
  LoginUser controller_user(cluster, database, "controller", "redrive_controller");

  // Work only the controller can unblock, seeded as the owner before anything runs:
  // a claim held by a worker that died (lease expired),
  const std::string orphaned_order = PlaceOrder(owner, 1100);
  Execute(owner,
          "UPDATE outbox SET claimed_by = 'dead-worker', claimed_until = now() - interval '1 "
          "minute', attempts = 1 WHERE aggregate_id = '" +
              orphaned_order + "'");
  // a PAYMENT_PENDING order never sent to the gateway and without a payment event,
  const std::string stuck_order = QueryValue(
      owner,
      "INSERT INTO orders (customer_id, amount_cents, currency, state, version, updated_at) "
      "VALUES ('stuck', 1200, 'USD', 'PAYMENT_PENDING', 2, now() - interval '1 hour') "
      "RETURNING id");
  // records past retention for the janitor (completed outbox rows are deleted at once),
  Execute(owner,
          "INSERT INTO processed_events (event_id, consumer, processed_at) "
          "SELECT gen_random_uuid(), 'archive', now() - interval '200 hours' "
          "FROM generate_series(1, 3)");
  // and a backlog nobody serves, old enough to be re-notified.
  Execute(owner,
          "INSERT INTO outbox (event_id, consumer, event_type, payload, created_at) "
          "VALUES (gen_random_uuid(), 'ledger', 'Audit', '{}', now() - interval '1 hour')");

  GatewaySim gateway;
  WebhookReceiver receiver;
  WorkerProcess payment(worker_user.Url(), "payment", {{"REDRIVE_GATEWAY_URL", gateway.Url()}});
  WorkerProcess webhook(worker_user.Url(), "webhook",
                        {{"REDRIVE_WEBHOOK_URL", receiver.Url()},
                         {"REDRIVE_WEBHOOK_SECRET", "security-test-secret"}});
  ControllerProcess controller(
      controller_user.Url(),
      {{"REDRIVE_GATEWAY_URL", gateway.Url()}, {"REDRIVE_CONTROLLER_BACKLOG_ALERT_SECONDS", "60"}});
  REQUIRE(payment.WaitReady());
  REQUIRE(webhook.WaitReady());
  REQUIRE(controller.WaitReady());

  const std::string fresh_order = PlaceOrder(owner, 1000);
  for (const std::string& order : {fresh_order, orphaned_order, stuck_order}) {
    CAPTURE(order);
    CHECK(WaitForValue(owner, "SELECT state FROM orders WHERE id = '" + order + "'", "PAID"));
  }
  // Each controller job left an applied audit row, written as redrive_controller.
  for (const std::string rule : {"expired_claim", "stuck_order", "janitor", "backlog_renotify"}) {
    CAPTURE(rule);
    CHECK(WaitUntil(
        [&] {
          return Count(owner, "SELECT count(*) FROM redrive_log WHERE rule = '" + rule +
                                  "' AND outcome = 'applied'") > 0;
        },
        30s));
  }
  CHECK(Count(owner, "SELECT count(*) FROM processed_events WHERE consumer = 'archive'") == 0);
  // The janitor leaves live work alone, however old.
  CHECK(Count(owner, "SELECT count(*) FROM outbox WHERE consumer = 'ledger'") == 1);
  CHECK(controller.Metric("redrive_leader") == 1);
  CHECK(QueryValue(owner,
                   "SELECT holder FROM controller_leases WHERE name = "
                   "'redrive-controller'") != "");
  // The webhook worker delivered each settlement and completed its event: the row deleted,
  // the event recorded, both as redrive_worker.
  CHECK(WaitForValue(owner,
                     "SELECT count(*) FROM processed_events WHERE consumer = 'webhook' AND "
                     "event_type IN ('PaymentSucceeded', 'PaymentFailed') AND attempts >= 1",
                     "3"));
  CHECK(Count(owner, "SELECT count(*) FROM outbox WHERE consumer = 'webhook'") == 0);
  CHECK(Count(owner,
              "SELECT count(*) FROM processed_events WHERE consumer = 'payment' AND "
              "aggregate_id IS NOT NULL") >= 3);
  CHECK(receiver.RequestCount() >= 3);

  // The sessions really were the login users (the grants were what made it work).
  const std::string sessions =
      QueryValue(owner,
                 "SELECT string_agg(DISTINCT usename, ',' ORDER BY usename) FROM pg_stat_activity "
                 "WHERE datname = current_database() AND usename <> current_user");
  CHECK(Contains(sessions, worker_user.name()));
  CHECK(Contains(sessions, controller_user.name()));

  for (AdminProcess* process :
       {static_cast<AdminProcess*>(&payment), static_cast<AdminProcess*>(&webhook),
        static_cast<AdminProcess*>(&controller)}) {
    const std::string log = process->Log();
    INFO(log);
    CHECK_FALSE(Contains(log, "permission denied"));
    CHECK_FALSE(Contains(log, "reconcile failed"));
  }
}

TEST_CASE("security: redrivectl reads everything as redrive_readonly and changes nothing") {
  PgCluster& cluster = SharedCluster();
  MigratedDatabase database;
  const std::string owner = database.Url();
  LoginUser readonly_user(cluster, database, "readonly", "redrive_readonly");
  const std::string order = PlaceOrder(owner, 1500);
  Execute(owner,
          "INSERT INTO dead_letter_events (outbox_id, event_id, consumer, event_type, payload, "
          "reason) VALUES (1, gen_random_uuid(), 'payment', 'OrderCreated', '{}', "
          "'malformed_payload')");

  const std::map<std::string, std::string> env = {{"REDRIVE_DATABASE_URL", readonly_user.Url()}};
  const std::vector<std::vector<std::string>> reads = {
      {"status"},
      {"-o", "json", "status"},
      {"orders", "stuck"},
      {"order", "show", order},
      {"dlq", "list"},
      {"review", "list"},
      {"plan"},
  };
  for (const auto& args : reads) {
    std::vector<std::string> argv = {BinaryPath("redrivectl")};
    argv.insert(argv.end(), args.begin(), args.end());
    const CommandResult result = RunCommand(argv, env);
    CAPTURE(args.back());
    INFO(result.output);
    CHECK(result.exit_code == 0);
  }
  const CommandResult status = RunCommand({BinaryPath("redrivectl"), "status"}, env);
  CHECK(Contains(status.output, "CREATED"));

  // An operator's writes need the owner (or a role a DBA grants for it): readonly is refused.
  const CommandResult place =
      RunCommand({BinaryPath("redrivectl"), "orders", "place", "--count", "1"}, env);
  INFO(place.output);
  CHECK(place.exit_code != 0);
  CHECK(Contains(place.output, "permission denied"));
  CHECK(Count(owner, "SELECT count(*) FROM orders") == 1);
}

TEST_CASE("security: every role is refused, with SQLSTATE 42501, what is not its job") {
  PgCluster& cluster = SharedCluster();
  MigratedDatabase database;
  LoginUser worker(cluster, database, "worker", "redrive_worker");
  LoginUser controller(cluster, database, "controller", "redrive_controller");
  LoginUser readonly(cluster, database, "readonly", "redrive_readonly");
  PlaceOrder(database.Url(), 1000);

  for (const LoginUser* user : {&worker, &controller, &readonly}) CheckForbidden(*user, kOwnerOnly);

  // What each one does need still works (in a rolled-back transaction).
  CheckAllowed(worker, {"SELECT id, state, version, amount_cents, currency FROM orders",
                        "UPDATE orders SET state = 'PAYMENT_PENDING', version = version + 1, "
                        "charge_requested_at = now()",
                        "UPDATE outbox SET claimed_by = 'w', claimed_until = now(), attempts = 1",
                        "INSERT INTO outbox (event_id, consumer, event_type, aggregate_id, "
                        "payload) VALUES (gen_random_uuid(), 'webhook', 'PaymentSucceeded', "
                        "NULL, '{}')",
                        "INSERT INTO processed_events (event_id, consumer) VALUES "
                        "(gen_random_uuid(), 'payment') ON CONFLICT (event_id, consumer) DO "
                        "NOTHING",
                        // A completion (schema/006): the row deleted, the event recorded with
                        // what the row held.
                        "DELETE FROM outbox WHERE id = 1",
                        "INSERT INTO processed_events (event_id, consumer, aggregate_id, "
                        "event_type, attempts, queued_at) VALUES (gen_random_uuid(), 'payment', "
                        "gen_random_uuid(), 'OrderCreated', 1, now())",
                        "WITH done AS (DELETE FROM outbox WHERE id = ANY('{1}'::bigint[]) AND "
                        "dead_at IS NULL RETURNING event_id, consumer, aggregate_id, event_type, "
                        "attempts, created_at) INSERT INTO processed_events (event_id, consumer, "
                        "aggregate_id, event_type, attempts, queued_at) SELECT * FROM done ON "
                        "CONFLICT (event_id, consumer) DO NOTHING"});
  CheckForbidden(worker, {
                             "SELECT customer_id FROM orders",
                             "SELECT * FROM orders",
                             "UPDATE orders SET redrive_count = 0",
                             "UPDATE processed_events SET attempts = 0",
                             "DELETE FROM processed_events",
                             "SELECT * FROM dead_letter_events",
                             "SELECT * FROM redrive_log",
                             "INSERT INTO redrive_log (actor, rule, outcome) VALUES ('w', "
                             "'forged', 'applied')",
                             "UPDATE controller_leases SET holder = 'w', epoch = epoch + 1",
                             "SELECT * FROM controller_leases FOR SHARE",
                         });

  CheckAllowed(controller,
               {"SELECT * FROM controller_leases FOR SHARE",
                "UPDATE controller_leases SET holder = 'c', epoch = epoch + 1",
                "UPDATE orders SET state = 'NEEDS_REVIEW', version = version + 1, redrive_count "
                "= redrive_count + 1",
                "DELETE FROM processed_events WHERE processed_at < now() - interval '168 hours'",
                "INSERT INTO redrive_log (actor, rule, outcome) VALUES ('c', 'janitor', "
                "'applied')"});
  CheckForbidden(controller, {
                                 "SELECT customer_id FROM orders",
                                 "UPDATE orders SET charge_requested_at = NULL",
                                 "UPDATE outbox SET attempts = 0",
                                 "SELECT * FROM redrive_log",
                                 "UPDATE dead_letter_events SET discarded_at = now()",
                             });

  CheckAllowed(readonly,
               {"SELECT * FROM orders", "SELECT * FROM outbox", "SELECT * FROM processed_events",
                "SELECT * FROM dead_letter_events", "SELECT * FROM redrive_log",
                "SELECT * FROM controller_leases", "SELECT * FROM schema_migrations"});
  CheckForbidden(readonly,
                 {"INSERT INTO outbox (event_id, consumer, event_type, payload) VALUES "
                  "(gen_random_uuid(), 'payment', 'OrderCreated', '{}')",
                  "UPDATE orders SET state = 'PAID'", "DELETE FROM outbox",
                  "INSERT INTO redrive_log (actor, rule, outcome) VALUES ('r', 'x', 'applied')",
                  "UPDATE controller_leases SET holder = 'r'", "SELECT nextval('outbox_id_seq')",
                  "SELECT * FROM orders FOR UPDATE"});

  // The grants docs/schema.md gives an application that places orders: enough for
  // place_order, nothing else.
  LoginUser producer(cluster, database, "producer", "");
  Execute(database.Url(),
          "GRANT EXECUTE ON FUNCTION place_order(text, bigint, text) TO " + producer.name() +
              "; GRANT INSERT (id, customer_id, amount_cents, currency) ON orders TO " +
              producer.name() +
              "; GRANT INSERT (event_id, consumer, event_type, aggregate_id, payload) ON outbox "
              "TO " +
              producer.name() + "; GRANT USAGE ON SEQUENCE outbox_id_seq TO " + producer.name());
  CheckAllowed(producer, {"SELECT place_order('shop-customer', 4200, 'eur')"});
  CheckForbidden(producer, {"SELECT * FROM orders", "UPDATE orders SET amount_cents = 1",
                            "DELETE FROM orders", "SELECT * FROM outbox"});
}

TEST_CASE(
    "security: a migrating user without CREATEROLE is told to have a DBA create the "
    "roles, and migrates once they exist") {
  // A cluster of its own: in the shared one the roles exist already.
  auto cluster = PgCluster::Start();
  TestDatabase first(*cluster);
  LoginUser migrator(*cluster, first, "migrator", "");
  Execute(cluster->Url(), "ALTER DATABASE " + first.name() + " OWNER TO " + migrator.name());
  const auto migrate = [&](const std::string& database) {
    return RunCommand({BinaryPath("redrivectl"), "migrate"},
                      {{"REDRIVE_DATABASE_URL", migrator.Url(database)}});
  };

  const CommandResult refused = migrate(first.name());
  INFO(refused.output);
  CHECK(refused.exit_code == 1);
  CHECK(Contains(refused.output, "may not create roles"));
  CHECK(Contains(refused.output, "docs/schema.md"));
  // The migrations before it are in; 004 is not, so it runs again next time.
  CHECK(QueryValue(first.Url(), "SELECT max(version) FROM schema_migrations") == "3");

  // What docs/schema.md tells the DBA to run.
  Execute(cluster->Url(),
          "CREATE ROLE redrive_worker NOLOGIN; CREATE ROLE redrive_controller NOLOGIN; "
          "CREATE ROLE redrive_readonly NOLOGIN;");
  const CommandResult applied = migrate(first.name());
  INFO(applied.output);
  CHECK(applied.exit_code == 0);
  CHECK(QueryValue(first.Url(), "SELECT max(version) FROM schema_migrations") == NewestVersion());
  CHECK(QueryValue(first.Url(),
                   "SELECT has_column_privilege('redrive_worker', 'orders', "
                   "'state', 'UPDATE')") == "t");

  // With CREATEROLE the migration creates the roles itself; several databases migrating at
  // once race to create them, and all succeed.
  Execute(first.Url(),
          "DROP OWNED BY redrive_worker, redrive_controller, redrive_readonly; "
          "DROP ROLE redrive_worker, redrive_controller, redrive_readonly");
  Execute(cluster->Url(), "ALTER ROLE " + migrator.name() + " CREATEROLE");
  std::vector<std::unique_ptr<TestDatabase>> databases;
  std::vector<std::unique_ptr<ChildProcess>> migrations;
  const std::string log_dir = MakeTempDir("redrive-migrate");
  for (int i = 0; i < 4; ++i) {
    databases.push_back(std::make_unique<TestDatabase>(*cluster));
    Execute(cluster->Url(),
            "ALTER DATABASE " + databases.back()->name() + " OWNER TO " + migrator.name());
  }
  for (int i = 0; i < 4; ++i) {
    const std::string log = log_dir + "/" + std::to_string(i) + ".log";
    migrations.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{BinaryPath("redrivectl"), "migrate"},
        ProcessOptions{.env = {{"REDRIVE_DATABASE_URL", migrator.Url(databases[i]->name())}},
                       .stdout_path = log,
                       .stderr_path = log}));
  }
  for (int i = 0; i < 4; ++i) {
    INFO(ReadFile(log_dir + "/" + std::to_string(i) + ".log"));
    CHECK(migrations[i]->Wait(60s) == 0);
    CHECK(QueryValue(databases[i]->Url(), "SELECT max(version) FROM schema_migrations") ==
          NewestVersion());
  }
  CHECK(QueryValue(cluster->Url(),
                   "SELECT count(*) FROM pg_roles WHERE rolname LIKE "
                   "'redrive\\_%' AND NOT rolcanlogin") == "3");
  std::filesystem::remove_all(log_dir);
}

// Completing deletes the outbox row and records the event with the row's order, type,
// attempts and queueing time (schema/006): the workers' own statement, run as a worker.
TEST_CASE("security: redrive_worker completes events: it deletes outbox rows and records them") {
  PgCluster& cluster = SharedCluster();
  MigratedDatabase database;
  LoginUser worker(cluster, database, "worker", "redrive_worker");
  const std::string owner = database.Url();
  const std::string order = PlaceOrder(owner, 1000);
  const std::string id = QueryValue(
      owner, "UPDATE outbox SET attempts = 2 WHERE aggregate_id = '" + order + "' RETURNING id");
  const std::string queued =
      QueryValue(owner, "SELECT created_at::text FROM outbox WHERE id = " + id);

  CHECK(QueryValue(owner, "SELECT has_table_privilege('redrive_worker', 'outbox', 'DELETE')") ==
        "t");
  for (const std::string column : {"aggregate_id", "event_type", "attempts", "queued_at"}) {
    CAPTURE(column);
    CHECK(QueryValue(owner, "SELECT has_column_privilege('redrive_worker', 'processed_events', '" +
                                column + "', 'INSERT')") == "t");
  }
  {
    pqxx::connection connection(worker.Url());
    CHECK(redrive::pg::CompleteMany(connection, {std::stoll(id)}) == 1);
  }
  CHECK(QueryValue(owner, "SELECT count(*) FROM outbox") == "0");
  CHECK(QueryValue(owner,
                   "SELECT concat_ws('|', consumer, aggregate_id, event_type, attempts, "
                   "queued_at) FROM processed_events") ==
        "payment|" + order + "|OrderCreated|2|" + queued);
}
