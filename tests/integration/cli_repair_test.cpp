// redrivectl dlq and review against a real PostgreSQL: seeded dead letters and orders in
// NEEDS_REVIEW, the text and JSON output, the audit row of every mutation, and a replay of a
// payment dead letter end to end against gateway-sim (the ledger is the oracle for "never
// charged twice").
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/support/pg_cluster.hpp"
#include "tests/support/redrive_processes.hpp"

namespace {

using namespace redrive::testing;
using namespace std::chrono_literals;

CommandResult Ctl(const std::string& url, std::vector<std::string> args) {
  args.insert(args.begin(), BinaryPath("redrivectl"));
  return RunCommand(args, {{"REDRIVE_DATABASE_URL", url}, {"USER", "ci-user"}});
}

// stdout of a successful -o json run is one JSON document (and nothing is on stderr).
nlohmann::json Json(const CommandResult& result) {
  INFO("output: ", result.output);
  REQUIRE(result.exit_code == 0);
  return nlohmann::json::parse(result.output);
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

int Count(const std::string& url, const std::string& sql) {
  return std::stoi(QueryValue(url, sql));
}

// A dead outbox row and its dead letter, failed `age` ago; returns the dead letter's id.
std::string SeedDeadLetter(const std::string& url, const std::string& consumer,
                           const std::string& reason, const std::string& age,
                           const std::string& order_id = "",
                           const std::string& payload = R"({"note": "seeded"})") {
  const std::string aggregate = order_id.empty() ? "NULL" : "'" + order_id + "'::uuid";
  return QueryValue(url,
                    "WITH o AS (INSERT INTO outbox (event_id, consumer, event_type, "
                    "aggregate_id, payload, attempts, dead_at, last_error) "
                    "VALUES (gen_random_uuid(), '" +
                        consumer + "', 'Seeded', " + aggregate + ", '" + payload +
                        "', 5, now() - interval '" + age + "', 'error for " + reason +
                        "') RETURNING *) "
                        "INSERT INTO dead_letter_events (outbox_id, event_id, consumer, "
                        "event_type, aggregate_id, payload, reason, last_error, attempts, "
                        "failed_at) SELECT id, event_id, consumer, event_type, aggregate_id, "
                        "payload, '" +
                        reason + "', last_error, attempts, dead_at FROM o RETURNING id");
}

// The order's own payment event (from place_order), dead-lettered `age` ago.
std::string DeadLetterPaymentEvent(const std::string& url, const std::string& order_id,
                                   const std::string& reason, const std::string& age) {
  return QueryValue(url, "WITH o AS (UPDATE outbox SET attempts = 3, dead_at = now() - interval '" +
                             age + "', last_error = 'gateway_500: boom' WHERE aggregate_id = '" +
                             order_id +
                             "' AND consumer = 'payment' RETURNING *) "
                             "INSERT INTO dead_letter_events (outbox_id, event_id, consumer, "
                             "event_type, aggregate_id, payload, reason, last_error, attempts, "
                             "failed_at) SELECT id, event_id, consumer, event_type, aggregate_id, "
                             "payload, '" +
                             reason + "', last_error, attempts, dead_at FROM o RETURNING id");
}

// An order the controller gave up on: NEEDS_REVIEW at version 3, in review for 2 hours, with
// the controller's audit row saying why.
std::string SeedNeedsReview(const std::string& url, long long amount_cents = 4250) {
  const std::string order_id = PlaceOrder(url, amount_cents);
  REQUIRE(CompleteOutboxRows(url, "aggregate_id = '" + order_id + "'") == 1);
  Execute(url,
          "UPDATE orders SET state = 'NEEDS_REVIEW', version = 3, redrive_count = 2, "
          "charge_requested_at = now() - interval '3 hours', "
          "updated_at = now() - interval '2 hours 5 minutes' WHERE id = '" +
              order_id +
              "'; INSERT INTO redrive_log (actor, rule, order_id, state_before, version_before, "
              "state_after, version_after, outcome, reason) VALUES ('controller-1', "
              "'stuck_order', '" +
              order_id +
              "', 'PAYMENT_PENDING', 2, 'NEEDS_REVIEW', 3, 'applied', "
              "'max_redrives exhausted')");
  return order_id;
}

// A payment worker gives up after two attempts against a gateway failing with `fault_flag`
// (--error-rate: nothing charged; --error-after-charge-rate: charged, then a 500), the
// gateway heals, an operator replays the dead letter: the order ends PAID with exactly one
// capture, because the idempotency key is the order's, not the event's.
void ReplayAfterGatewayFault(const std::string& fault_flag, const std::string& fault_knob,
                             int captures_before_replay) {
  MigratedDatabase database;
  const std::string url = database.Url();
  GatewaySim gateway({fault_flag, "1"});
  WorkerProcess worker(url, "payment",
                       {{"REDRIVE_GATEWAY_URL", gateway.Url()},
                        {"REDRIVE_WORKER_MAX_ATTEMPTS", "2"},
                        {"REDRIVE_GATEWAY_BREAKER_FAILURE_THRESHOLD", "100"}});
  REQUIRE(worker.WaitReady());
  const std::string order_id = PlaceOrder(url, 2500);
  REQUIRE(WaitForValue(url, "SELECT reason FROM dead_letter_events", "max_attempts"));
  CHECK(QueryValue(url, "SELECT state FROM orders") == "PAYMENT_PENDING");
  auto captures = [&] {
    const auto ledger = gateway.LedgerOrders();
    return ledger.contains(order_id) ? ledger.at(order_id).at("captures").get<int>() : 0;
  };
  CHECK(captures() == captures_before_replay);

  gateway.SetFaults({{fault_knob, 0.0}});
  const std::string id = QueryValue(url, "SELECT id FROM dead_letter_events");
  const auto replay = Ctl(url, {"dlq", "replay", id, "--reason", "gateway healed"});
  INFO(replay.output, "\nworker log:\n", worker.Log());
  CHECK(replay.exit_code == 0);
  CHECK(Contains(replay.output, "replayed 1"));

  CHECK(WaitForValue(url, "SELECT state FROM orders", "PAID"));
  CHECK(gateway.LedgerOrders().size() == 1);
  CHECK(captures() == 1);
  // Consumed: the payment row left the outbox, its record says after how many attempts.
  CHECK(WaitForValue(url, "SELECT count(*) FROM outbox WHERE consumer = 'payment'", "0"));
  CHECK(QueryValue(url,
                   "SELECT concat_ws(',', event_type, attempts) FROM processed_events "
                   "WHERE consumer = 'payment'") == "OrderCreated,1");
  CHECK(Count(url,
              "SELECT count(*) FROM outbox WHERE consumer = 'webhook' AND event_type = "
              "'PaymentSucceeded'") == 1);

  // The dead letter now shows its event completed, from the record.
  const auto shown = Ctl(url, {"dlq", "show", id});
  INFO(shown.output);
  CHECK(Contains(shown.output, "status        replayed at "));
  CHECK(Contains(shown.output, "outbox row    completed, attempts 1, at "));
  CHECK(Contains(shown.output, "(the row is gone; processed_events keeps the record)"));
  const auto shown_json = Json(Ctl(url, {"-o", "json", "dlq", "show", id}));
  CHECK(shown_json["outbox"]["id"].is_null());
  CHECK(shown_json["outbox"]["status"] == "completed");
  CHECK(shown_json["outbox"]["attempts"] == 1);
  CHECK(shown_json["outbox"]["completed_at"].is_string());

  // Replaying the same dead letter again enqueues nothing and charges nothing.
  const auto again = Json(Ctl(url, {"-o", "json", "dlq", "replay", id, "--reason", "again"}));
  CHECK(again["results"][0]["outcome"] == "skipped");
  CHECK(Contains(again["results"][0]["detail"].get<std::string>(), "already replayed"));
  SleepFor(500ms);
  CHECK(captures() == 1);
  CHECK(Count(url, "SELECT count(*) FROM outbox WHERE consumer = 'payment'") == 0);
  CHECK(Count(url, "SELECT count(*) FROM processed_events WHERE consumer = 'payment'") == 1);
  CHECK(QueryValue(url, "SELECT state FROM orders") == "PAID");
}

}  // namespace

TEST_CASE("redrivectl dlq list shows open dead letters as a table and JSON, with filters") {
  MigratedDatabase database;
  const std::string url = database.Url();
  const std::string order_id = PlaceOrder(url, 1000);
  const std::string recent = DeadLetterPaymentEvent(url, order_id, "max_attempts", "10 minutes");
  const std::string poison = SeedDeadLetter(url, "payment", "malformed_payload", "2 hours");
  const std::string webhook = SeedDeadLetter(url, "webhook", "max_attempts", "3 days");

  const auto table = Ctl(url, {"dlq", "list"});
  INFO(table.output);
  CHECK(table.exit_code == 0);
  for (const char* header :
       {"ID", "CONSUMER", "EVENT TYPE", "ORDER", "REASON", "ATTEMPTS", "FAILED", "LAST ERROR"}) {
    CHECK(Contains(table.output, header));
  }
  CHECK(table.output.rfind("ID  ", 0) == 0);
  CHECK(Contains(table.output, "malformed_payload"));
  CHECK(Contains(table.output, order_id));
  CHECK(Contains(table.output, "gateway_500: boom"));
  CHECK(Contains(table.output, "10m0"));  // "10m00s ago", the age by the database's clock

  const auto all = Json(Ctl(url, {"-o", "json", "dlq", "list"}));
  CHECK(all["total"] == 3);
  REQUIRE(all["dead_letters"].size() == 3);
  const auto& newest = all["dead_letters"][0];  // newest failure first
  CHECK(newest["id"] == std::stoll(recent));
  CHECK(newest["consumer"] == "payment");
  CHECK(newest["event_type"] == "OrderCreated");
  CHECK(newest["order_id"] == order_id);
  CHECK(newest["reason"] == "max_attempts");
  CHECK(newest["attempts"] == 3);
  CHECK(newest["status"] == "open");
  CHECK(newest["closed_at"].is_null());
  CHECK(newest["age_seconds"].get<double>() >= 600);
  CHECK(all["dead_letters"][1]["order_id"].is_null());

  auto ids = [&](const std::vector<std::string>& filters) {
    std::vector<std::string> args = {"-o", "json", "dlq", "list"};
    args.insert(args.end(), filters.begin(), filters.end());
    std::vector<long long> found;
    const auto listed = Json(Ctl(url, args));
    for (const auto& row : listed["dead_letters"]) found.push_back(row["id"]);
    return found;
  };
  CHECK(ids({"--consumer", "webhook"}) == std::vector<long long>{std::stoll(webhook)});
  CHECK(ids({"--cause", "malformed_payload"}) == std::vector<long long>{std::stoll(poison)});
  CHECK(ids({"--since", "1h"}) == std::vector<long long>{std::stoll(recent)});
  CHECK(ids({"--consumer", "payment", "--cause", "max_attempts", "--since", "1d"}) ==
        std::vector<long long>{std::stoll(recent)});
  CHECK(ids({"--cause", "no_such_reason"}).empty());

  const auto limited = Ctl(url, {"dlq", "list", "--limit", "1"});
  CHECK(Contains(limited.output, "showing 1 of 3"));
  const auto limited_json = Json(Ctl(url, {"dlq", "list", "--limit", "1", "-o", "json"}));
  CHECK(limited_json["total"] == 3);
  CHECK(limited_json["dead_letters"].size() == 1);

  // Closed dead letters only show with --all, with their status.
  Execute(url, "UPDATE dead_letter_events SET discarded_at = now() WHERE id = " + poison);
  CHECK(ids({}).size() == 2);
  const auto with_closed = Ctl(url, {"dlq", "list", "--all"});
  CHECK(Contains(with_closed.output, "STATUS"));
  CHECK(Contains(with_closed.output, "discarded"));
  CHECK(ids({"--all"}).size() == 3);

  const auto empty = Ctl(url, {"dlq", "list", "--consumer", "nobody"});
  CHECK(empty.exit_code == 0);
  CHECK(Contains(empty.output, "no open dead letters match the filters"));
  CHECK(Ctl(url, {"dlq", "list", "--since", "yesterday"}).exit_code == 2);
  CHECK(Ctl(url, {"dlq", "list", "--limit", "0"}).exit_code == 2);
  CHECK(Ctl(url, {"dlq"}).exit_code == 2);
  CHECK(Ctl(url, {"dlq", "frobnicate"}).exit_code == 2);
}

TEST_CASE("redrivectl dlq show prints the payload, the last error and the event's outbox row") {
  MigratedDatabase database;
  const std::string url = database.Url();
  const std::string order_id = PlaceOrder(url, 1234);
  const std::string id = DeadLetterPaymentEvent(url, order_id, "max_attempts", "5 minutes");

  const auto text = Ctl(url, {"dlq", "show", id});
  INFO(text.output);
  CHECK(text.exit_code == 0);
  CHECK(Contains(text.output, "reason        max_attempts"));
  CHECK(Contains(text.output, "attempts      3"));
  CHECK(Contains(text.output, "last error    gateway_500: boom"));
  CHECK(Contains(text.output, order_id + " (CREATED, version 1)"));
  CHECK(Contains(text.output, " dead, attempts 3"));
  CHECK(Contains(text.output, "payload:\n  {\n"));
  CHECK(Contains(text.output, "    \"amount_cents\": 1234,\n"));

  const auto json = Json(Ctl(url, {"-o", "json", "dlq", "show", id}));
  CHECK(json["dead_letter"]["id"] == std::stoll(id));
  CHECK(json["dead_letter"]["payload"]["order_id"] == order_id);
  CHECK(json["dead_letter"]["payload"]["amount_cents"] == 1234);
  CHECK(json["dead_letter"]["last_error"] == "gateway_500: boom");
  CHECK(json["outbox"]["status"] == "dead");
  CHECK(json["outbox"]["attempts"] == 3);
  CHECK(json["order"]["state"] == "CREATED");

  const auto missing = Ctl(url, {"dlq", "show", "999999"});
  CHECK(missing.exit_code == 1);
  CHECK(Contains(missing.output, "no dead letter with id 999999"));
  CHECK(Ctl(url, {"dlq", "show", "abc"}).exit_code == 2);
  CHECK(Ctl(url, {"dlq", "show"}).exit_code == 2);
}

TEST_CASE("redrivectl dlq replay re-enqueues a dead letter once and audits both runs") {
  MigratedDatabase database;
  const std::string url = database.Url();
  const std::string order_id = PlaceOrder(url, 1000);
  const std::string id = DeadLetterPaymentEvent(url, order_id, "max_attempts", "5 minutes");
  const std::string event_id =
      QueryValue(url, "SELECT event_id FROM dead_letter_events WHERE id = " + id);

  const auto first =
      Ctl(url, {"dlq", "replay", id, "--reason", "gateway fixed", "--actor", "alice"});
  INFO(first.output);
  CHECK(first.exit_code == 0);
  for (const char* header : {"ID", "EVENT", "CONSUMER", "ORDER", "OUTCOME", "DETAIL"}) {
    CHECK(Contains(first.output, header));
  }
  CHECK(Contains(first.output, "applied"));
  CHECK(Contains(first.output, "replayed 1, skipped 0 (as operator:alice)"));

  // The original row is claimable again, with a fresh set of attempts.
  CHECK(QueryValue(url,
                   "SELECT concat_ws(',', dead_at IS NULL, attempts, last_error IS NULL, "
                   "claimed_by IS NULL, available_at <= now()) "
                   "FROM outbox WHERE event_id = '" +
                       event_id + "'") == "t,0,t,t,t");
  CHECK(QueryValue(
            url, "SELECT replayed_at IS NOT NULL FROM dead_letter_events WHERE id = " + id) == "t");
  CHECK(QueryValue(url,
                   "SELECT concat_ws('|', actor, rule, order_id, event_id, outcome, reason, "
                   "cycle_id IS NULL, epoch, dry_run) FROM redrive_log") ==
        "operator:alice|dlq_replay|" + order_id + "|" + event_id + "|applied|gateway fixed|t|0|f");

  // Again: nothing changes (a worker's claim on the replayed row is left alone), the run is
  // audited as skipped.
  Execute(url,
          "UPDATE outbox SET attempts = 1, claimed_by = 'w-1', claimed_until = now() + "
          "interval '30 seconds' WHERE event_id = '" +
              event_id + "'");
  const std::string replayed_at =
      QueryValue(url, "SELECT replayed_at FROM dead_letter_events WHERE id = " + id);
  const auto second = Json(Ctl(
      url, {"-o", "json", "dlq", "replay", id, "--reason", "gateway fixed", "--actor", "alice"}));
  CHECK(second["action"] == "replay");
  CHECK(second["dry_run"] == false);
  CHECK(second["actor"] == "operator:alice");
  REQUIRE(second["results"].size() == 1);
  CHECK(second["results"][0]["id"] == std::stoll(id));
  CHECK(second["results"][0]["outcome"] == "skipped");
  CHECK(Contains(second["results"][0]["detail"].get<std::string>(), "already replayed"));
  CHECK(second["summary"]["applied"] == 0);
  CHECK(second["summary"]["skipped"] == 1);
  CHECK(QueryValue(url,
                   "SELECT concat_ws(',', attempts, claimed_by) FROM outbox WHERE "
                   "event_id = '" +
                       event_id + "'") == "1,w-1");
  CHECK(Count(url, "SELECT count(*) FROM outbox WHERE event_id = '" + event_id + "'") == 1);
  CHECK(QueryValue(url, "SELECT replayed_at FROM dead_letter_events WHERE id = " + id) ==
        replayed_at);
  CHECK(Count(url, "SELECT count(*) FROM redrive_log") == 2);
  CHECK(QueryValue(url,
                   "SELECT concat_ws('|', actor, rule, outcome) FROM redrive_log "
                   "ORDER BY id DESC LIMIT 1") == "operator:alice|dlq_replay|skipped");
  CHECK(Contains(QueryValue(url, "SELECT reason FROM redrive_log ORDER BY id DESC LIMIT 1"),
                 "gateway fixed (skipped: already replayed at "));

  // Without --actor the OS user is recorded.
  const std::string other = SeedDeadLetter(url, "webhook", "max_attempts", "1 minute");
  CHECK(Ctl(url, {"dlq", "replay", other, "--reason", "retry"}).exit_code == 0);
  CHECK(QueryValue(url, "SELECT actor FROM redrive_log ORDER BY id DESC LIMIT 1") ==
        "operator:ci-user");
}

TEST_CASE(
    "redrivectl dlq replay skips a dead letter whose event is already completed, and dlq show "
    "says so") {
  MigratedDatabase database;
  const std::string url = database.Url();
  const std::string id = SeedDeadLetter(url, "webhook", "max_attempts", "1 hour");
  // The event was consumed all the same (a hand edit, or a bug: what the consistency check
  // completed_and_dead_lettered reports): its row is gone, its record is there.
  Execute(url, "UPDATE outbox SET dead_at = NULL");
  REQUIRE(CompleteOutboxRows(url, "true") == 1);
  REQUIRE(Count(url, "SELECT count(*) FROM outbox") == 0);
  const std::string detail = "its event is completed: discard the dead letter instead";

  const auto dry =
      Json(Ctl(url, {"-o", "json", "dlq", "replay", id, "--reason", "x", "--dry-run"}));
  CHECK(dry["results"][0]["outcome"] == "skipped");
  CHECK(dry["results"][0]["detail"] == detail);

  const auto result = Json(Ctl(url, {"-o", "json", "dlq", "replay", id, "--reason", "x"}));
  CHECK(result["results"][0]["outcome"] == "skipped");
  CHECK(result["results"][0]["detail"] == detail);
  CHECK(result["summary"]["applied"] == 0);
  // Not re-created: the event would be delivered a second time.
  CHECK(Count(url, "SELECT count(*) FROM outbox") == 0);
  CHECK(Count(url, "SELECT count(*) FROM processed_events") == 1);
  CHECK(QueryValue(url, "SELECT replayed_at IS NULL FROM dead_letter_events") == "t");
  CHECK(QueryValue(url, "SELECT concat_ws('|', outcome, reason) FROM redrive_log") ==
        "skipped|x (skipped: " + detail + ")");

  const auto text = Ctl(url, {"dlq", "show", id});
  INFO(text.output);
  CHECK(text.exit_code == 0);
  CHECK(Contains(text.output, "outbox row    completed, attempts 5, at "));
  CHECK(Contains(text.output, "(the row is gone; processed_events keeps the record)"));
  const auto shown = Json(Ctl(url, {"-o", "json", "dlq", "show", id}));
  CHECK(shown["outbox"]["id"].is_null());
  CHECK(shown["outbox"]["status"] == "completed");
  CHECK(shown["outbox"]["attempts"] == 5);
  CHECK(shown["outbox"]["completed_at"].is_string());
  CHECK(shown["outbox"]["available_at"].is_null());  // a consumed event is available no more
  CHECK(shown["outbox"]["dead_at"].is_null());
  CHECK(shown["dead_letter"]["status"] == "open");

  // Discarding is the way out.
  const auto discard = Json(Ctl(url, {"-o", "json", "dlq", "discard", id, "--reason", "done"}));
  CHECK(discard["results"][0]["outcome"] == "applied");
}

TEST_CASE("redrivectl dlq replay re-creates an outbox row that was deleted by hand") {
  MigratedDatabase database;
  const std::string url = database.Url();
  const std::string id = SeedDeadLetter(url, "webhook", "max_attempts", "1 hour", "",
                                        R"({"order_id": "x", "status": "succeeded"})");
  Execute(url, "DELETE FROM outbox");
  // Another consumer's record of the same event id says nothing about this consumer's.
  Execute(url,
          "INSERT INTO processed_events (event_id, consumer) SELECT event_id, 'payment' FROM "
          "dead_letter_events");

  const auto shown = Ctl(url, {"dlq", "show", id});
  INFO(shown.output);
  CHECK(Contains(shown.output, "outbox row    gone (a replay re-creates it from the dead letter)"));
  CHECK(Json(Ctl(url, {"-o", "json", "dlq", "show", id}))["outbox"].is_null());

  const auto result = Json(Ctl(url, {"-o", "json", "dlq", "replay", id, "--reason", "x"}));
  CHECK(result["results"][0]["outcome"] == "applied");
  CHECK(QueryValue(url,
                   "SELECT concat_ws(',', o.consumer, o.event_type, o.payload->>'status', "
                   "o.attempts, o.dead_at IS NULL) FROM outbox o JOIN dead_letter_events d "
                   "USING (event_id)") == "webhook,Seeded,succeeded,0,t");
}

TEST_CASE("redrivectl dlq replay by filters acts on at most --max and says how many remain") {
  MigratedDatabase database;
  const std::string url = database.Url();
  for (const char* age : {"30 minutes", "20 minutes", "10 minutes"}) {
    SeedDeadLetter(url, "payment", "max_attempts", age);
  }
  SeedDeadLetter(url, "payment", "malformed_payload", "5 minutes");
  SeedDeadLetter(url, "webhook", "max_attempts", "5 minutes");
  SeedDeadLetter(url, "payment", "max_attempts", "2 days");  // outside --since 1d

  const auto text = Ctl(url, {"dlq", "replay", "--consumer", "payment", "--cause", "max_attempts",
                              "--since", "1d", "--max", "2", "--reason", "gateway outage over"});
  INFO(text.output);
  CHECK(text.exit_code == 0);
  CHECK(Contains(text.output, "replayed 2, skipped 0"));
  CHECK(Contains(text.output, "1 more dead letter match"));
  // Oldest failure first.
  CHECK(Count(url,
              "SELECT count(*) FROM dead_letter_events WHERE replayed_at IS NOT NULL AND "
              "failed_at < now() - interval '15 minutes'") == 2);

  const auto json =
      Json(Ctl(url, {"-o", "json", "dlq", "replay", "--consumer", "payment", "--cause",
                     "max_attempts", "--since", "1d", "--max", "2", "--reason", "again"}));
  CHECK(json["summary"]["applied"] == 1);
  CHECK(json["remaining"] == 0);
  CHECK(Count(url, "SELECT count(*) FROM dead_letter_events WHERE replayed_at IS NOT NULL") == 3);
  CHECK(Count(url, "SELECT count(*) FROM outbox WHERE dead_at IS NULL") == 3);
  CHECK(Count(url,
              "SELECT count(*) FROM redrive_log WHERE rule = 'dlq_replay' AND outcome = "
              "'applied' AND actor = 'operator:ci-user'") == 3);

  const auto none = Ctl(url, {"dlq", "replay", "--consumer", "payment", "--cause", "max_attempts",
                              "--since", "1d", "--reason", "again"});
  CHECK(none.exit_code == 0);
  CHECK(Contains(none.output, "nothing to replay"));
}

TEST_CASE("redrivectl dlq replay --dry-run prints what it would do and writes nothing") {
  MigratedDatabase database;
  const std::string url = database.Url();
  const std::string id = SeedDeadLetter(url, "payment", "max_attempts", "5 minutes");
  const std::string closed = SeedDeadLetter(url, "payment", "max_attempts", "6 minutes");
  Execute(url, "UPDATE dead_letter_events SET discarded_at = now() WHERE id = " + closed);

  const auto text = Ctl(url, {"dlq", "replay", id, closed, "--reason", "check first", "--dry-run"});
  INFO(text.output);
  CHECK(text.exit_code == 0);
  CHECK(Contains(text.output, "dry run: nothing was written"));
  CHECK(Contains(text.output, "would replay"));
  CHECK(Contains(text.output, "already discarded"));
  CHECK(Contains(text.output, "would replay 1, skip 1"));

  const auto json = Json(Ctl(url, {"-o", "json", "dlq", "replay", "--consumer", "payment",
                                   "--reason", "check first", "--dry-run"}));
  CHECK(json["dry_run"] == true);
  CHECK(json["summary"]["dry_run"] == 1);
  CHECK(json["results"][0]["outcome"] == "dry_run");

  CHECK(Count(url, "SELECT count(*) FROM redrive_log") == 0);
  CHECK(Count(url, "SELECT count(*) FROM outbox WHERE dead_at IS NULL") == 0);
  CHECK(Count(url, "SELECT count(*) FROM dead_letter_events WHERE replayed_at IS NOT NULL") == 0);
}

TEST_CASE("redrivectl dlq discard closes a dead letter once and audits both runs") {
  MigratedDatabase database;
  const std::string url = database.Url();
  const std::string order_id = PlaceOrder(url, 1000);
  const std::string id = DeadLetterPaymentEvent(url, order_id, "order_not_found", "1 hour");

  const auto first = Ctl(url, {"dlq", "discard", id, "--reason", "test order", "--actor", "bob"});
  INFO(first.output);
  CHECK(first.exit_code == 0);
  CHECK(Contains(first.output, "OUTCOME"));
  CHECK(Contains(first.output, "discarded 1, skipped 0 (as operator:bob)"));
  CHECK(QueryValue(url,
                   "SELECT discarded_at IS NOT NULL AND replayed_at IS NULL FROM "
                   "dead_letter_events") == "t");
  CHECK(QueryValue(url, "SELECT dead_at IS NOT NULL FROM outbox WHERE aggregate_id = '" + order_id +
                            "'") == "t");
  CHECK(QueryValue(url,
                   "SELECT concat_ws('|', actor, rule, order_id, outcome, reason) FROM "
                   "redrive_log") ==
        "operator:bob|dlq_discard|" + order_id + "|applied|test order");

  const auto second = Json(
      Ctl(url, {"-o", "json", "dlq", "discard", id, "--reason", "test order", "--actor", "bob"}));
  CHECK(second["action"] == "discard");
  CHECK(second["results"][0]["outcome"] == "skipped");
  CHECK(Contains(second["results"][0]["detail"].get<std::string>(), "already discarded"));
  CHECK(Count(url, "SELECT count(*) FROM redrive_log WHERE outcome = 'skipped'") == 1);

  // A discarded dead letter cannot be replayed.
  const auto replay = Json(Ctl(url, {"-o", "json", "dlq", "replay", id, "--reason", "oops"}));
  CHECK(replay["results"][0]["outcome"] == "skipped");
  CHECK(QueryValue(url, "SELECT dead_at IS NOT NULL FROM outbox WHERE aggregate_id = '" + order_id +
                            "'") == "t");

  // Unknown ids are reported and fail the run; known ones are still handled.
  const std::string other = SeedDeadLetter(url, "webhook", "max_attempts", "1 minute");
  const auto mixed = Ctl(url, {"dlq", "discard", other, "424242", "--reason", "cleanup"});
  CHECK(mixed.exit_code == 1);
  CHECK(Contains(mixed.output, "not_found"));
  CHECK(QueryValue(url, "SELECT discarded_at IS NOT NULL FROM dead_letter_events WHERE id = " +
                            other) == "t");
}

TEST_CASE("redrivectl mutating commands refuse to run without --reason or with bad flags") {
  MigratedDatabase database;
  const std::string url = database.Url();
  const std::string id = SeedDeadLetter(url, "payment", "max_attempts", "5 minutes");
  const std::string order_id = SeedNeedsReview(url);
  const int log_rows = Count(url, "SELECT count(*) FROM redrive_log");

  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"dlq", "replay", id},
                                             {"dlq", "replay", id, "--reason", "  "},
                                             {"dlq", "discard", id},
                                             {"review", "resolve", order_id, "--as", "PAID"}}) {
    const auto result = Ctl(url, args);
    INFO(args[0], " ", args[1], ": ", result.output);
    CHECK(result.exit_code == 2);
    CHECK(Contains(result.output, "--reason is required"));
  }
  CHECK(Ctl(url, {"dlq", "replay", "--reason", "x"}).exit_code == 2);  // no ids, no filters
  CHECK(Ctl(url, {"dlq", "replay", id, "--consumer", "payment", "--reason", "x"}).exit_code == 2);
  CHECK(Ctl(url, {"dlq", "replay", "12abc", "--reason", "x"}).exit_code == 2);
  CHECK(Ctl(url, {"dlq", "replay", id, "--max", "0", "--reason", "x"}).exit_code == 2);
  CHECK(Ctl(url, {"dlq", "replay", id, "--bogus", "--reason", "x"}).exit_code == 2);
  const auto bad_as = Ctl(url, {"review", "resolve", order_id, "--as", "PENDING", "--reason", "x"});
  CHECK(bad_as.exit_code == 2);
  CHECK(Contains(bad_as.output, "--as must be PAID or FAILED"));
  CHECK(Ctl(url, {"review", "resolve", order_id, "--as", "NEEDS_REVIEW", "--reason", "x"})
            .exit_code == 2);
  CHECK(Ctl(url, {"review", "resolve", order_id, "--reason", "x"}).exit_code == 2);
  CHECK(Ctl(url, {"review", "resolve", "not-a-uuid", "--as", "PAID", "--reason", "x"}).exit_code ==
        2);

  CHECK(Count(url, "SELECT count(*) FROM redrive_log") == log_rows);
  CHECK(QueryValue(url, "SELECT replayed_at IS NULL FROM dead_letter_events") == "t");
  CHECK(QueryValue(url, "SELECT state FROM orders") == "NEEDS_REVIEW");

  CHECK(Ctl(url, {"dlq", "replay", "--help"}).exit_code == 0);
  CHECK(Ctl(url, {"review", "--help"}).exit_code == 0);
}

TEST_CASE("redrivectl review list shows orders in NEEDS_REVIEW with their last reason") {
  MigratedDatabase database;
  const std::string url = database.Url();
  CHECK(Contains(Ctl(url, {"review", "list"}).output, "no orders in NEEDS_REVIEW"));
  const std::string order_id = SeedNeedsReview(url, 4250);
  PlaceOrder(url, 999);  // CREATED: not listed

  const auto text = Ctl(url, {"review", "list"});
  INFO(text.output);
  CHECK(text.exit_code == 0);
  for (const char* header :
       {"ORDER", "IN REVIEW", "AMOUNT", "REDRIVES", "VERSION", "LAST REASON"}) {
    CHECK(Contains(text.output, header));
  }
  CHECK(Contains(text.output, order_id));
  CHECK(Contains(text.output, "2h05m"));
  CHECK(Contains(text.output, "42.50 USD"));
  CHECK(Contains(text.output, "max_redrives exhausted"));

  const auto json = Json(Ctl(url, {"-o", "json", "review", "list"}));
  CHECK(json["total"] == 1);
  REQUIRE(json["orders"].size() == 1);
  const auto& row = json["orders"][0];
  CHECK(row["order_id"] == order_id);
  CHECK(row["amount_cents"] == 4250);
  CHECK(row["currency"] == "USD");
  CHECK(row["redrive_count"] == 2);
  CHECK(row["version"] == 3);
  CHECK(row["last_reason"] == "max_redrives exhausted");
  CHECK(row["in_review_seconds"].get<double>() >= 7500);
}

TEST_CASE("redrivectl review resolve settles once, queues the webhook and audits it") {
  MigratedDatabase database;
  const std::string url = database.Url();
  const std::string order_id = SeedNeedsReview(url, 4250);

  const auto first = Ctl(url, {"review", "resolve", order_id, "--as", "PAID", "--reason",
                               "captured per gateway dashboard", "--actor", "carol"});
  INFO(first.output);
  CHECK(first.exit_code == 0);
  CHECK(Contains(first.output, "NEEDS_REVIEW (version 3) -> PAID (version 4)"));
  CHECK(Contains(first.output, "queued PaymentSucceeded webhook event"));
  CHECK(QueryValue(url, "SELECT state || ',' || version FROM orders") == "PAID,4");
  CHECK(QueryValue(url,
                   "SELECT concat_ws(',', event_type, payload->>'status', "
                   "payload->>'amount_cents', payload->>'currency') FROM outbox "
                   "WHERE consumer = 'webhook' AND aggregate_id = '" +
                       order_id + "'") == "PaymentSucceeded,succeeded,4250,USD");
  CHECK(QueryValue(url,
                   "SELECT concat_ws('|', actor, rule, order_id, event_id IS NOT NULL, "
                   "state_before, version_before, state_after, version_after, outcome, "
                   "reason, epoch) FROM redrive_log WHERE rule = 'review_resolve'") ==
        "operator:carol|review_resolve|" + order_id +
            "|t|NEEDS_REVIEW|3|PAID|4|applied|captured per gateway dashboard|0");
  CHECK(QueryValue(url,
                   "SELECT l.event_id = o.event_id FROM redrive_log l JOIN outbox o ON "
                   "o.consumer = 'webhook' WHERE l.rule = 'review_resolve'") == "t");

  // Again (or racing another operator): the order is no longer in review, nothing written.
  const int log_rows = Count(url, "SELECT count(*) FROM redrive_log");
  const int outbox_rows = Count(url, "SELECT count(*) FROM outbox");
  const auto second = Ctl(url, {"review", "resolve", order_id, "--as", "FAILED", "--reason",
                                "second thoughts", "--actor", "carol"});
  CHECK(second.exit_code == 1);
  CHECK(Contains(second.output, "is not in NEEDS_REVIEW (already PAID, version 4)"));
  CHECK(Contains(second.output, "nothing written"));
  CHECK(Count(url, "SELECT count(*) FROM redrive_log") == log_rows);
  CHECK(Count(url, "SELECT count(*) FROM outbox") == outbox_rows);
  CHECK(QueryValue(url, "SELECT state || ',' || version FROM orders") == "PAID,4");

  const auto missing = Ctl(url, {"review", "resolve", "00000000-0000-0000-0000-000000000000",
                                 "--as", "PAID", "--reason", "x"});
  CHECK(missing.exit_code == 1);
  CHECK(Contains(missing.output, "no order"));
}

TEST_CASE("redrivectl review resolve as FAILED in JSON, and its dry run writes nothing") {
  MigratedDatabase database;
  const std::string url = database.Url();
  const std::string order_id = SeedNeedsReview(url, 700);

  const auto dry = Json(Ctl(url, {"-o", "json", "review", "resolve", order_id, "--as", "failed",
                                  "--reason", "never captured", "--dry-run"}));
  CHECK(dry["outcome"] == "dry_run");
  CHECK(dry["state_after"] == "FAILED");
  CHECK(dry["webhook_event_id"].is_null());
  CHECK(QueryValue(url, "SELECT state FROM orders") == "NEEDS_REVIEW");
  CHECK(Count(url, "SELECT count(*) FROM outbox WHERE consumer = 'webhook'") == 0);
  CHECK(Count(url, "SELECT count(*) FROM redrive_log WHERE rule = 'review_resolve'") == 0);

  const auto json = Json(Ctl(url, {"-o", "json", "review", "resolve", order_id, "--as", "FAILED",
                                   "--reason", "never captured", "--actor", "dave"}));
  CHECK(json["order_id"] == order_id);
  CHECK(json["outcome"] == "applied");
  CHECK(json["actor"] == "operator:dave");
  CHECK(json["state_before"] == "NEEDS_REVIEW");
  CHECK(json["version_before"] == 3);
  CHECK(json["state_after"] == "FAILED");
  CHECK(json["version_after"] == 4);
  CHECK(json["webhook_event_id"].is_string());
  CHECK(QueryValue(url,
                   "SELECT event_type || ',' || (payload->>'status') FROM outbox WHERE "
                   "event_id = '" +
                       json["webhook_event_id"].get<std::string>() + "'") ==
        "PaymentFailed,declined");
}

TEST_CASE(
    "redrivectl repair commands exit 1 without printing the password when the database "
    "is down") {
  const std::string url =
      "postgresql://redrive:s3cret-pw@127.0.0.1:" + std::to_string(FreeLoopbackPort()) + "/redrive";
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"dlq", "list"},
           {"dlq", "replay", "1", "--reason", "x"},
           {"review", "list"},
           {"review", "resolve", "00000000-0000-0000-0000-000000000000", "--as", "PAID", "--reason",
            "x"}}) {
    const auto result = Ctl(url, args);
    INFO(result.output);
    CHECK(result.exit_code == 1);
    CHECK_FALSE(Contains(result.output, "s3cret-pw"));
  }
}

TEST_CASE("redrivectl dlq replay of a payment dead-lettered by a failing gateway charges once") {
  ReplayAfterGatewayFault("--error-rate", "error_rate", 0);
}

TEST_CASE(
    "redrivectl dlq replay of a payment captured before its dead letter never captures "
    "twice") {
  ReplayAfterGatewayFault("--error-after-charge-rate", "error_after_charge_rate", 1);
}
