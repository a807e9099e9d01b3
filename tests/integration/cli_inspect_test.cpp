// redrivectl's read-only views (status, orders stuck, order show) and `orders place`, run
// as the real binary against seeded states on a real PostgreSQL: the table and the JSON of
// each, misuse (exit 2), database failures (exit 1, no password), and the index behind
// every scan they make.
#include <doctest/doctest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include "core/pg/claim_head.hpp"
#include "core/pg/migrations.hpp"
#include "core/pg/ops_inspect.hpp"
#include "core/pg/outbox_store.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redrive_processes.hpp"
#include "tests/support/scan_plans.hpp"

namespace {

using namespace redrive::testing;
using nlohmann::json;

constexpr const char* kNeverSent = "d0000000-0000-4000-8000-000000000004";
constexpr const char* kOutcomeUnknown = "e0000000-0000-4000-8000-000000000005";

// One order in every state, each kind of stuck order, dead letters of several reasons, live
// and expired claims, a held lease and controller and operator audit rows. The numbers the
// tests expect are worked out in the comments.
struct Seeded {
  std::string url;
  std::string created;          // CREATED, payment event pending since 5 minutes
  std::string created_claimed;  // CREATED, payment event claimed by worker-a, lease running
  std::string created_expired;  // CREATED, payment event claimed by worker-b, lease expired
  std::string recent_pending;   // PAYMENT_PENDING, touched now: not stuck yet
  std::string waiting_pending;  // PAYMENT_PENDING for 30 minutes, payment event pending: not stuck
  std::string paid, failed, needs_review;
};

Seeded Seed(const std::string& url) {
  Seeded s;
  s.url = url;
  s.created = PlaceOrder(url, 1000);
  s.created_claimed = PlaceOrder(url, 1100);
  s.created_expired = PlaceOrder(url, 1200);
  s.recent_pending = PlaceOrder(url, 1300);
  s.waiting_pending = PlaceOrder(url, 1400);
  s.paid = PlaceOrder(url, 1500);
  s.failed = PlaceOrder(url, 1600);
  s.needs_review = PlaceOrder(url, 1700);
  const auto quoted = [](const std::string& id) { return "'" + id + "'"; };
  Execute(url, "UPDATE outbox SET created_at = now() - interval '5 minutes' WHERE aggregate_id = " +
                   quoted(s.created));
  Execute(url,
          "UPDATE outbox SET claimed_by = 'worker-a', claimed_until = now() + interval '30 "
          "seconds', attempts = 1 WHERE aggregate_id = " +
              quoted(s.created_claimed));
  Execute(url,
          "UPDATE outbox SET claimed_by = 'worker-b', claimed_until = now() - interval '5 "
          "seconds', attempts = 2 WHERE aggregate_id = " +
              quoted(s.created_expired));
  // Completed events leave the outbox for their processed_events records.
  Execute(url,
          "UPDATE orders SET state = 'PAYMENT_PENDING', version = 2 WHERE id = " +
              quoted(s.recent_pending) +
              "; UPDATE outbox SET attempts = 1 WHERE aggregate_id = " + quoted(s.recent_pending));
  REQUIRE(CompleteOutboxRows(url, "aggregate_id = " + quoted(s.recent_pending)) == 1);
  Execute(url,
          "UPDATE orders SET state = 'PAYMENT_PENDING', version = 2, updated_at = now() - "
          "interval '30 minutes' WHERE id = " +
              quoted(s.waiting_pending));
  for (const auto& [id, state] : {std::pair{s.paid, "PAID"}, std::pair{s.failed, "FAILED"},
                                  std::pair{s.needs_review, "NEEDS_REVIEW"}}) {
    Execute(url, "UPDATE orders SET state = '" + std::string(state) +
                     "', version = 3, charge_requested_at = now() WHERE id = " + quoted(id) +
                     "; UPDATE outbox SET attempts = 1 WHERE aggregate_id = " + quoted(id));
    REQUIRE(CompleteOutboxRows(url, "aggregate_id = " + quoted(id)) == 1);
  }
  // The paid order's webhook event, pending for 90 seconds.
  Execute(url,
          "INSERT INTO outbox (event_id, consumer, event_type, aggregate_id, payload, "
          "created_at) VALUES (gen_random_uuid(), 'webhook', 'PaymentSucceeded', " +
              quoted(s.paid) + ", '{}', now() - interval '90 seconds')");

  // Never sent, stuck for 12 minutes: its payment event died of max_attempts (open).
  // Outcome unknown, stuck for 10 minutes: charge requested 19 minutes ago; its first payment
  // event died and was replayed by an operator, the replay (queued 14 minutes ago) was
  // consumed 13 minutes ago after one attempt, so it is only a processed_events record now,
  // then the controller re-drove the order once.
  Execute(url, std::string(R"sql(
    INSERT INTO orders (id, customer_id, amount_cents, currency, state, version,
                        charge_requested_at, redrive_count, created_at, updated_at)
    VALUES (')sql") +
                   kNeverSent + R"sql(', 'cust-d', 2100, 'USD', 'PAYMENT_PENDING', 2,
            NULL, 0, now() - interval '13 minutes', now() - interval '12 minutes'),
           (')sql" +
                   kOutcomeUnknown +
                   R"sql(', 'cust-e', 4200, 'EUR', 'PAYMENT_PENDING', 3,
            now() - interval '19 minutes', 1, now() - interval '20 minutes',
            now() - interval '10 minutes');
    INSERT INTO outbox (event_id, consumer, event_type, aggregate_id, payload, attempts,
                        created_at, available_at, dead_at, last_error)
    VALUES ('d1000000-0000-4000-8000-000000000001', 'payment', 'OrderCreated',
            'd0000000-0000-4000-8000-000000000004', '{}', 10, now() - interval '13 minutes',
            now() - interval '13 minutes', now() - interval '12 minutes', 'gateway 503'),
           ('e1000000-0000-4000-8000-000000000001', 'payment', 'OrderCreated',
            'e0000000-0000-4000-8000-000000000005', '{}', 3, now() - interval '20 minutes',
            now() - interval '16 minutes', now() - interval '15 minutes', 'gateway timeout');
    INSERT INTO processed_events (event_id, consumer, processed_at, aggregate_id, event_type,
                                  attempts, queued_at)
    VALUES ('e2000000-0000-4000-8000-000000000002', 'payment', now() - interval '13 minutes',
            'e0000000-0000-4000-8000-000000000005', 'OrderCreated', 1,
            now() - interval '14 minutes');
    INSERT INTO dead_letter_events (outbox_id, event_id, consumer, event_type, aggregate_id,
                                    payload, reason, last_error, attempts, failed_at,
                                    replayed_at)
    SELECT id, event_id, consumer, event_type, aggregate_id, payload, 'max_attempts',
           last_error, attempts, dead_at,
           CASE WHEN event_id = 'e1000000-0000-4000-8000-000000000001'
                THEN now() - interval '14 minutes' END
    FROM outbox WHERE dead_at IS NOT NULL;
    -- Poison events of no order: one open per consumer, one discarded.
    INSERT INTO outbox (event_id, consumer, event_type, payload, attempts, dead_at)
    VALUES ('f1000000-0000-4000-8000-000000000001', 'payment', 'Garbage', '{}', 1, now()),
           ('f2000000-0000-4000-8000-000000000002', 'webhook', 'PaymentSucceeded', '{}', 1,
            now()),
           ('f3000000-0000-4000-8000-000000000003', 'webhook', 'Mystery', '{}', 1, now());
    INSERT INTO dead_letter_events (outbox_id, event_id, consumer, event_type, payload, reason,
                                    attempts, discarded_at)
    SELECT id, event_id, consumer, event_type, payload,
           CASE event_type WHEN 'Garbage' THEN 'malformed_payload'
                           WHEN 'Mystery' THEN 'unknown_event_type'
                           ELSE 'subscriber_gone' END,
           attempts, CASE WHEN event_type = 'Mystery' THEN now() END
    FROM outbox WHERE event_id IN ('f1000000-0000-4000-8000-000000000001',
                                   'f2000000-0000-4000-8000-000000000002',
                                   'f3000000-0000-4000-8000-000000000003');
    -- The leader, and the audit trail: the newest row is an operator's.
    UPDATE controller_leases SET holder = 'controller-7', epoch = 4, acquired_at = now(),
           renewed_at = now(), expires_at = now() + interval '15 seconds';
    INSERT INTO redrive_log (at, actor, cycle_id, epoch, rule, order_id, event_id,
                             state_before, version_before, state_after, version_after,
                             outcome, reason)
    VALUES (now() - interval '14 minutes', 'operator:alice', NULL, NULL, 'dead_letter_replay',
            'e0000000-0000-4000-8000-000000000005', 'e1000000-0000-4000-8000-000000000001',
            NULL, NULL, NULL, NULL, 'applied', 'gateway fixed'),
           (now() - interval '11 minutes', 'controller-7', gen_random_uuid(), 4, 'stuck_order',
            'e0000000-0000-4000-8000-000000000005', NULL, 'PAYMENT_PENDING', 2,
            'PAYMENT_PENDING', 3, 'applied', 'gateway_not_found'),
           (now() - interval '3 minutes', 'controller-7', gen_random_uuid(), 4,
            'expired_claim', NULL, NULL, NULL, NULL, NULL, NULL, 'applied', 'lease expired'),
           (now() - interval '1 minute', 'operator:bob', NULL, NULL, 'review_resolve', NULL,
            NULL, 'NEEDS_REVIEW', 3, 'PAID', 4, 'applied', 'checked the gateway');
  )sql");
  return s;
}

CommandResult Ctl(const std::string& url, const std::vector<std::string>& args,
                  std::map<std::string, std::string> env = {}) {
  std::vector<std::string> argv = {BinaryPath("redrivectl")};
  argv.insert(argv.end(), args.begin(), args.end());
  env.emplace("REDRIVE_DATABASE_URL", url);
  return RunCommand(argv, env);
}

json Json(const CommandResult& result) {
  INFO("output: ", result.output);
  REQUIRE(result.exit_code == 0);
  return json::parse(result.output);
}

// The whitespace-separated cells of the first line that starts with `first_cell`.
std::vector<std::string> Row(const std::string& text, const std::string& first_cell) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream cells(line);
    std::vector<std::string> row;
    for (std::string cell; cells >> cell;) row.push_back(cell);
    if (!row.empty() && row.front() == first_cell) return row;
  }
  return {};
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

const json& Consumer(const json& status, const std::string& name) {
  for (const auto& consumer : status["consumers"]) {
    if (consumer["consumer"] == name) return consumer;
  }
  FAIL("no consumer ", name);
  static const json none;
  return none;
}

int Count(const std::string& url, const std::string& sql) {
  return std::stoi(QueryValue(url, sql));
}

// A worker's claim from the head of the consumer's queue, the other settings left at their
// defaults.
redrive::pg::ClaimRequest ClaimOf(const std::string& consumer, const std::string& instance,
                                  int limit) {
  redrive::pg::ClaimRequest request;
  request.consumer = consumer;
  request.instance_id = instance;
  request.limit = limit;
  return request;
}

}  // namespace

TEST_CASE(
    "redrivectl status reports backlog, claims, dead letters, states, stuck orders and "
    "the leader as JSON") {
  MigratedDatabase database;
  const Seeded s = Seed(database.Url());
  const json status = Json(Ctl(s.url, {"-o", "json", "status"}));

  const json& payment = Consumer(status, "payment");
  CHECK(payment["pending"] == 4);  // created, claimed, expired, waiting
  CHECK(payment["oldest_pending_age_seconds"].get<double>() >= 300);
  CHECK(payment["oldest_pending_age_seconds"].get<double>() < 400);
  CHECK(payment["in_flight_claims"] == 1);
  CHECK(payment["expired_claims"] == 1);
  CHECK(payment["open_dead_letters"] == 2);  // never-sent's max_attempts + malformed_payload
  const json& webhook = Consumer(status, "webhook");
  CHECK(webhook["pending"] == 1);
  CHECK(webhook["oldest_pending_age_seconds"].get<double>() >= 90);
  CHECK(webhook["in_flight_claims"] == 0);
  CHECK(webhook["open_dead_letters"] == 1);  // the discarded one is not open

  const json& by_state = status["orders"]["by_state"];
  CHECK(by_state["CREATED"] == 3);
  CHECK(by_state["PAYMENT_PENDING"] == 4);
  CHECK(by_state["PAID"] == 1);
  CHECK(by_state["FAILED"] == 1);
  CHECK(by_state["NEEDS_REVIEW"] == 1);
  CHECK(status["orders"]["settled_counted"] == true);

  CHECK(status["stuck_orders"]["stuck_after_seconds"] == 120);
  CHECK(status["stuck_orders"]["never_sent"] == 1);
  CHECK(status["stuck_orders"]["outcome_unknown"] == 1);
  CHECK(status["stuck_orders"]["total"] == 2);
  CHECK(status["needs_review"] == 1);

  REQUIRE(status["leases"].size() == 1);
  const json& lease = status["leases"][0];
  CHECK(lease["lease"] == "redrive-controller");
  CHECK(lease["holder"] == "controller-7");
  CHECK(lease["epoch"] == 4);
  CHECK(lease["held"] == true);
  CHECK(lease["state"] == "held");
  CHECK(lease["expires_in_seconds"].get<double>() > 0);
  CHECK(lease["expires_in_seconds"].get<double>() <= 15);
  CHECK(lease["expires_at"].get<std::string>().ends_with("Z"));

  // The operator's newer row does not count: it is no sign of the controller's life.
  const json& last = status["last_controller_action"];
  CHECK(last["actor"] == "controller-7");
  CHECK(last["rule"] == "expired_claim");
  CHECK(last["age_seconds"].get<double>() >= 180);
  CHECK(last["age_seconds"].get<double>() < 280);
  CHECK(Contains(status["last_controller_action_note"].get<std::string>(),
                 "redrive_last_successful_reconcile_timestamp_seconds"));
}

TEST_CASE("redrivectl status prints aligned tables with the same figures") {
  MigratedDatabase database;
  const Seeded s = Seed(database.Url());
  const auto result = Ctl(s.url, {"status"});
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  const std::string& out = result.output;
  CHECK(std::regex_search(out, std::regex("CONSUMER +PENDING +OLDEST PENDING +IN FLIGHT +EXPIRED "
                                          "CLAIMS +OPEN DEAD LETTERS")));
  const auto payment = Row(out, "payment");
  REQUIRE(payment.size() == 6);
  CHECK(payment[1] == "4");
  CHECK(payment[2].starts_with("5m"));
  CHECK(payment[3] == "1");
  CHECK(payment[4] == "1");
  CHECK(payment[5] == "2");
  CHECK(Row(out, "webhook") ==
        std::vector<std::string>{"webhook", "1", Row(out, "webhook")[2], "0", "0", "1"});

  CHECK(std::regex_search(out, std::regex("STATE +ORDERS")));
  CHECK(Row(out, "CREATED") == std::vector<std::string>{"CREATED", "3"});
  CHECK(Row(out, "PAYMENT_PENDING") == std::vector<std::string>{"PAYMENT_PENDING", "4"});
  CHECK(Row(out, "PAID") == std::vector<std::string>{"PAID", "1"});
  CHECK(Row(out, "FAILED") == std::vector<std::string>{"FAILED", "1"});
  CHECK(Row(out, "NEEDS_REVIEW") == std::vector<std::string>{"NEEDS_REVIEW", "1"});

  CHECK(Contains(out, "stuck orders: PAYMENT_PENDING, untouched for 2m00s"));
  CHECK(Row(out, "never_sent") == std::vector<std::string>{"never_sent", "1"});
  CHECK(Row(out, "outcome_unknown") == std::vector<std::string>{"outcome_unknown", "1"});
  CHECK(Contains(out, "needs review: 1"));

  CHECK(std::regex_search(out, std::regex("LEASE +LEADER +EPOCH +STATE +EXPIRES")));
  const auto lease = Row(out, "redrive-controller");
  REQUIRE(lease.size() >= 5);
  CHECK(lease[1] == "controller-7");
  CHECK(lease[2] == "4");
  CHECK(lease[3] == "held");
  CHECK(Contains(out,
                 "last controller action (newest redrive_log row not written by an "
                 "operator"));
  CHECK(std::regex_search(out, std::regex("by controller-7: expired_claim applied")));
}

TEST_CASE(
    "redrivectl status on an empty database shows zeros, a lease never taken and no "
    "controller action") {
  MigratedDatabase database;
  const json status = Json(Ctl(database.Url(), {"-o", "json", "status"}));
  CHECK(status["consumers"].size() == 2);
  CHECK(Consumer(status, "payment")["pending"] == 0);
  CHECK(Consumer(status, "payment")["oldest_pending_age_seconds"].is_null());
  for (const auto& [state, count] : status["orders"]["by_state"].items()) {
    INFO(state);
    CHECK(count == 0);
  }
  CHECK(status["leases"][0]["holder"].is_null());
  CHECK(status["leases"][0]["state"] == "never taken");
  CHECK(status["leases"][0]["expires_at"].is_null());
  CHECK(status["last_controller_action"].is_null());

  const auto text = Ctl(database.Url(), {"status"});
  CHECK(text.exit_code == 0);
  CHECK(Contains(text.output, "never taken"));
  CHECK(Contains(text.output, "none recorded"));
}

TEST_CASE("redrivectl status tells a released lease from one never taken") {
  MigratedDatabase database;
  // What a controller leaves behind after SIGTERM or --once.
  Execute(database.Url(),
          "UPDATE controller_leases SET holder = NULL, epoch = 3, expires_at = '-infinity'");
  const json status = Json(Ctl(database.Url(), {"-o", "json", "status"}));
  CHECK(status["leases"][0]["state"] == "released");
  CHECK(status["leases"][0]["epoch"] == 3);
}

TEST_CASE("redrivectl orders stuck lists the stuck orders oldest first with their class") {
  MigratedDatabase database;
  const Seeded s = Seed(database.Url());

  const json all = Json(Ctl(s.url, {"orders", "stuck", "-o", "json"}));
  CHECK(all["older_than_seconds"] == 120);
  CHECK(all["total"] == 2);
  REQUIRE(all["orders"].size() == 2);
  const json& first = all["orders"][0];
  CHECK(first["id"] == kNeverSent);
  CHECK(first["class"] == "never_sent");
  CHECK(first["charge_requested_at"].is_null());
  CHECK(first["redrive_count"] == 0);
  CHECK(first["version"] == 2);
  CHECK(first["age_seconds"].get<double>() >= 720);
  const json& second = all["orders"][1];
  CHECK(second["id"] == kOutcomeUnknown);
  CHECK(second["class"] == "outcome_unknown");
  CHECK(second["redrive_count"] == 1);
  CHECK(second["version"] == 3);
  CHECK(second["charge_request_age_seconds"].get<double>() >= 19 * 60);

  const auto text = Ctl(s.url, {"orders", "stuck"});
  INFO(text.output);
  REQUIRE(text.exit_code == 0);
  CHECK(std::regex_search(text.output,
                          std::regex("ORDER +AGE +CLASS +REDRIVES +CHARGE REQUESTED +VERSION")));
  const auto never_sent = Row(text.output, kNeverSent);
  REQUIRE(never_sent.size() == 6);
  CHECK(never_sent[1].starts_with("12m"));
  CHECK(never_sent[2] == "never_sent");
  CHECK(never_sent[4] == "never");
  const auto unknown = Row(text.output, kOutcomeUnknown);
  REQUIRE(unknown.size() == 7);  // "19m00s ago" is two cells
  CHECK(unknown[2] == "outcome_unknown");
  CHECK(unknown[3] == "1");
  CHECK(unknown[6] == "3");
  CHECK(text.output.find(kNeverSent) < text.output.find(kOutcomeUnknown));

  const json older = Json(Ctl(s.url, {"-o", "json", "orders", "stuck", "--older-than", "11m"}));
  REQUIRE(older["orders"].size() == 1);
  CHECK(older["orders"][0]["id"] == kNeverSent);

  const json limited = Json(Ctl(s.url, {"-o", "json", "orders", "stuck", "--limit", "1"}));
  CHECK(limited["total"] == 2);
  CHECK(limited["orders"].size() == 1);
  const auto limited_text = Ctl(s.url, {"orders", "stuck", "--limit", "1"});
  CHECK(Contains(limited_text.output, "(1 of 2 stuck orders"));

  // The default threshold is the controller's.
  const auto none =
      Ctl(s.url, {"orders", "stuck"}, {{"REDRIVE_CONTROLLER_STUCK_AFTER_SECONDS", "3600"}});
  CHECK(none.exit_code == 0);
  CHECK(Contains(none.output, "no stuck orders (PAYMENT_PENDING, untouched for 1h00m"));
}

TEST_CASE(
    "redrivectl order show merges the order's rows and audit trail into one timeline "
    "ordered by time") {
  MigratedDatabase database;
  const Seeded s = Seed(database.Url());
  const json shown = Json(Ctl(s.url, {"-o", "json", "order", "show", kOutcomeUnknown}));

  CHECK(shown["order"]["id"] == kOutcomeUnknown);
  CHECK(shown["order"]["state"] == "PAYMENT_PENDING");
  CHECK(shown["order"]["version"] == 3);
  CHECK(shown["order"]["amount_cents"] == 4200);
  CHECK(shown["order"]["currency"] == "EUR");
  CHECK(shown["order"]["redrive_count"] == 1);
  // The dead event's row is still in the outbox; the consumed one is only its record.
  REQUIRE(shown["outbox"].size() == 1);
  CHECK(shown["outbox"][0]["event_id"] == "e1000000-0000-4000-8000-000000000001");
  CHECK_FALSE(shown["outbox"][0]["dead_at"].is_null());
  CHECK_FALSE(shown["outbox"][0].contains("completed_at"));  // the column is gone
  REQUIRE(shown["processed_events"].size() == 1);
  const json& consumed = shown["processed_events"][0];
  CHECK(consumed["event_id"] == "e2000000-0000-4000-8000-000000000002");
  CHECK(consumed["consumer"] == "payment");
  CHECK(consumed["event_type"] == "OrderCreated");
  CHECK(consumed["attempts"] == 1);
  REQUIRE(consumed["queued_at"].is_string());
  REQUIRE(consumed["processed_at"].is_string());
  CHECK(consumed["queued_at"].get<std::string>() < consumed["processed_at"].get<std::string>());
  REQUIRE(shown["dead_letters"].size() == 1);
  CHECK(shown["dead_letters"][0]["reason"] == "max_attempts");
  CHECK_FALSE(shown["dead_letters"][0]["replayed_at"].is_null());
  REQUIRE(shown["redrive_log"].size() == 2);
  CHECK(shown["redrive_log"][1]["epoch"] == 4);

  const json& timeline = shown["timeline"];
  std::vector<std::string> times, whats;
  std::set<std::string> sources;
  for (const auto& entry : timeline) {
    times.push_back(entry["at"]);
    whats.push_back(entry["what"]);
    sources.insert(entry["source"].get<std::string>());
  }
  CHECK(std::is_sorted(times.begin(), times.end()));
  // A consumed event shows as queued and completed (source outbox), from its record: no
  // "processed" rows, which only records from before schema 006 produce.
  CHECK(sources ==
        std::set<std::string>{"order", "outbox", "dead_letter", "controller", "operator"});
  REQUIRE_FALSE(whats.empty());
  CHECK(whats.front() == "created");
  CHECK(whats.back() == "stuck_order");  // the controller's re-drive, 11 minutes ago
  const auto position = [&](const std::string& what) {
    return std::find(whats.begin(), whats.end(), what) - whats.begin();
  };
  CHECK(position("charge requested") < position("dead-lettered"));
  CHECK(position("dead-lettered") < position("replayed"));
  CHECK(position("replayed") < position("completed"));
  CHECK(position("completed") < position("stuck_order"));
  // The consumed event's two entries, at its queueing and its completion time.
  std::vector<json> consumed_entries;
  for (const auto& entry : timeline) {
    if (entry["event_id"] == "e2000000-0000-4000-8000-000000000002") {
      consumed_entries.push_back(entry);
    }
  }
  REQUIRE(consumed_entries.size() == 2);
  CHECK(consumed_entries[0]["what"] == "queued");
  CHECK(consumed_entries[0]["source"] == "outbox");
  CHECK(consumed_entries[0]["at"] == consumed["queued_at"]);
  CHECK(consumed_entries[0]["detail"] == "OrderCreated for payment");
  CHECK(consumed_entries[0]["consumer"] == "payment");
  CHECK(consumed_entries[1]["what"] == "completed");
  CHECK(consumed_entries[1]["source"] == "outbox");
  CHECK(consumed_entries[1]["at"] == consumed["processed_at"]);
  CHECK(consumed_entries[1]["detail"] == "OrderCreated for payment after 1 attempt");
  CHECK(std::count(whats.begin(), whats.end(), "completed") == 1);
  const auto controller = std::find_if(timeline.begin(), timeline.end(), [](const json& entry) {
    return entry["source"] == "controller";
  });
  REQUIRE(controller != timeline.end());
  CHECK((*controller)["actor"] == "controller-7");
  CHECK((*controller)["outcome"] == "applied");
  CHECK(Contains((*controller)["detail"], "gateway_not_found"));

  const auto text = Ctl(s.url, {"orders", "show", kOutcomeUnknown});
  INFO(text.output);
  REQUIRE(text.exit_code == 0);
  CHECK(Contains(text.output, std::string("order ") + kOutcomeUnknown));
  CHECK(std::regex_search(text.output,
                          std::regex("STATE +VERSION +AMOUNT +CUSTOMER +REDRIVES\n"
                                     "PAYMENT_PENDING +3 +4200 EUR cents +cust-e +1\n")));
  CHECK(std::regex_search(text.output, std::regex("TIME +SOURCE +WHAT +EVENT +DETAIL")));
  CHECK(Contains(text.output, "reason max_attempts after 3 attempts: gateway timeout"));
  CHECK(std::regex_search(text.output,
                          std::regex("Z +outbox +completed +e2000000 +OrderCreated for payment "
                                     "after 1 attempt\n")));
  CHECK(Contains(text.output, "[operator:alice]"));
  // Text rows are in time order too.
  std::vector<std::string> text_times;
  const std::regex time_cell("\n(\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z) ");
  for (auto match = std::sregex_iterator(text.output.begin(), text.output.end(), time_cell);
       match != std::sregex_iterator(); ++match) {
    text_times.push_back((*match)[1]);
  }
  CHECK(text_times.size() == timeline.size());
  CHECK(std::is_sorted(text_times.begin(), text_times.end()));
}

TEST_CASE("redrivectl order show shows a live claim and exits 1 for an unknown order") {
  MigratedDatabase database;
  const Seeded s = Seed(database.Url());
  const json claimed = Json(Ctl(s.url, {"-o", "json", "order", "show", s.created_claimed}));
  CHECK(claimed["order"]["state"] == "CREATED");
  REQUIRE(claimed["outbox"].size() == 1);
  CHECK(claimed["outbox"][0]["claimed_by"] == "worker-a");
  const auto lease =
      std::find_if(claimed["timeline"].begin(), claimed["timeline"].end(),
                   [](const json& entry) { return entry["what"] == "claim lease ends"; });
  REQUIRE(lease != claimed["timeline"].end());
  CHECK(Contains((*lease)["detail"], "claimed by worker-a"));

  const std::string unknown = "0b0b0b0b-0000-4000-8000-000000000000";
  const auto missing = Ctl(s.url, {"order", "show", unknown});
  CHECK(missing.exit_code == 1);
  CHECK(Contains(missing.output, "order " + unknown + " not found"));
}

TEST_CASE(
    "redrivectl order show keeps a replayed dead letter in the timeline after its event was "
    "consumed") {
  MigratedDatabase database;
  const std::string url = database.Url();
  const std::string order = PlaceOrder(url, 1800);
  const std::string dead_letter = QueryValue(
      url,
      "WITH o AS (UPDATE outbox SET attempts = 3, dead_at = now(), last_error = 'gateway_500' "
      "WHERE aggregate_id = '" +
          order +
          "' RETURNING *) INSERT INTO dead_letter_events (outbox_id, event_id, consumer, "
          "event_type, aggregate_id, payload, reason, last_error, attempts, failed_at) SELECT id, "
          "event_id, consumer, event_type, aggregate_id, payload, 'max_attempts', last_error, "
          "attempts, dead_at FROM o RETURNING id");
  const std::string event_id = QueryValue(url, "SELECT event_id FROM outbox");
  REQUIRE(Ctl(url, {"dlq", "replay", dead_letter, "--reason", "gateway healed"}).exit_code == 0);

  // A worker claims the replayed row and completes it, with the product's own statements: the
  // row leaves the outbox, its record is all that is left of the event.
  {
    pqxx::connection connection(url);
    const auto claimed = redrive::pg::Claim(connection, ClaimOf("payment", "worker-t", 10));
    REQUIRE(claimed.size() == 1);
    CHECK(claimed[0].event_id == event_id);
    CHECK(redrive::pg::CompleteMany(connection, {claimed[0].outbox_id}) == 1);
  }
  REQUIRE(Count(url, "SELECT count(*) FROM outbox") == 0);

  const json shown = Json(Ctl(url, {"-o", "json", "order", "show", order}));
  CHECK(shown["outbox"].empty());
  REQUIRE(shown["processed_events"].size() == 1);
  CHECK(shown["processed_events"][0]["event_id"] == event_id);
  CHECK(shown["processed_events"][0]["event_type"] == "OrderCreated");
  CHECK(shown["processed_events"][0]["attempts"] == 1);  // attempts start again on a replay
  // The dead letter is found through the event's record now that its outbox row is gone.
  REQUIRE(shown["dead_letters"].size() == 1);
  CHECK(shown["dead_letters"][0]["id"] == std::stoll(dead_letter));
  CHECK_FALSE(shown["dead_letters"][0]["replayed_at"].is_null());

  std::vector<std::string> story;
  for (const auto& entry : shown["timeline"]) {
    if (entry["event_id"] == event_id) story.push_back(entry["what"].get<std::string>());
  }
  CHECK(story ==
        std::vector<std::string>{"queued", "dead-lettered", "replayed", "dlq_replay", "completed"});
  const auto text = Ctl(url, {"order", "show", order});
  INFO(text.output);
  CHECK(Contains(text.output, "OrderCreated for payment after 1 attempt"));
  CHECK(Contains(text.output, "reason max_attempts after 3 attempts: gateway_500"));
}

TEST_CASE(
    "redrivectl order show after the live-outbox migration: consumed events from their "
    "backfilled records, older records as idempotency records") {
  TestDatabase database;
  const std::string url = database.Url();
  {
    pqxx::connection connection(url);
    std::vector<redrive::pg::Migration> before_006;
    for (const auto& migration : redrive::pg::EmbeddedMigrations()) {
      if (migration.version < 6) before_006.push_back(migration);
    }
    redrive::pg::Migrate(connection, before_006);
  }
  // Before the migration: a payment event completed (its row kept, with its record) after
  // two attempts, and a webhook event consumed once and then put back by hand to be sent
  // again, so its record predates a live row.
  const std::string order = QueryValue(url, "SELECT place_order('cust-old', 2500, 'USD')");
  Execute(url, R"sql(
    UPDATE orders SET state = 'PAID', version = 3, charge_requested_at = now() - interval '9 minutes';
    UPDATE outbox SET attempts = 2, created_at = now() - interval '10 minutes',
                      completed_at = now() - interval '8 minutes';
    INSERT INTO processed_events (event_id, consumer, processed_at)
    SELECT event_id, consumer, completed_at FROM outbox;
    INSERT INTO outbox (event_id, consumer, event_type, aggregate_id, payload, created_at)
    SELECT 'a2000000-0000-4000-8000-000000000002', 'webhook', 'PaymentSucceeded', id, '{}',
           now() - interval '7 minutes'
    FROM orders;
    INSERT INTO processed_events (event_id, consumer, processed_at)
    VALUES ('a2000000-0000-4000-8000-000000000002', 'webhook', now() - interval '6 minutes');
  )sql");
  const std::string payment_event =
      QueryValue(url, "SELECT event_id FROM outbox WHERE consumer = 'payment'");
  {
    pqxx::connection connection(url);
    const auto report = redrive::pg::Migrate(connection);
    REQUIRE(report.current_version >= 6);
  }

  const json shown = Json(Ctl(url, {"-o", "json", "order", "show", order}));
  REQUIRE(shown["outbox"].size() == 1);  // the completed row moved to its record
  CHECK(shown["outbox"][0]["consumer"] == "webhook");
  REQUIRE(shown["processed_events"].size() == 2);  // by processed_at
  const json& migrated = shown["processed_events"][0];
  CHECK(migrated["event_id"] == payment_event);
  CHECK(migrated["event_type"] == "OrderCreated");
  CHECK(migrated["attempts"] == 2);
  CHECK(migrated["queued_at"].is_string());
  const json& legacy = shown["processed_events"][1];
  CHECK(legacy["event_id"] == "a2000000-0000-4000-8000-000000000002");
  CHECK(legacy["consumer"] == "webhook");
  CHECK(legacy["event_type"].is_null());
  CHECK(legacy["attempts"].is_null());
  CHECK(legacy["queued_at"].is_null());

  std::vector<std::tuple<std::string, std::string, std::string>> entries;  // source, what, detail
  for (const auto& entry : shown["timeline"]) {
    if (entry["source"] == "order") continue;
    entries.emplace_back(entry["source"], entry["what"], entry["detail"]);
  }
  const std::string webhook_row = std::to_string(shown["outbox"][0]["id"].get<long long>());
  CHECK(entries ==
        std::vector<std::tuple<std::string, std::string, std::string>>{
            {"outbox", "queued", "OrderCreated for payment"},
            {"outbox", "completed", "OrderCreated for payment after 2 attempts"},
            {"outbox", "queued", "PaymentSucceeded for webhook (outbox " + webhook_row + ")"},
            {"processed", "processed", "idempotency record of webhook"}});
}

TEST_CASE(
    "redrivectl status counts the claims at the head of each consumer's queue behind a "
    "backlog larger than the head it reads") {
  MigratedDatabase database;
  const std::string url = database.Url();
  // More unclaimed payment rows than the head holds, all queued after the ones claimed below.
  const int backlog = redrive::pg::kClaimHeadRows + 10000;
  Execute(url,
          "INSERT INTO outbox (consumer, event_type, payload, created_at, available_at) "
          "SELECT 'payment', 'OrderCreated', '{}', now() - interval '1 minute', now() - "
          "interval '1 minute' FROM generate_series(1, " +
              std::to_string(backlog) +
              "); INSERT INTO outbox (consumer, event_type, payload) "
              "SELECT 'webhook', 'PaymentSucceeded', '{}' FROM generate_series(1, 100)");
  {
    // Claims as workers make them: the oldest available rows first.
    pqxx::connection connection(url);
    const auto payment = redrive::pg::Claim(connection, ClaimOf("payment", "worker-a", 5));
    REQUIRE(payment.size() == 5);
    const auto webhook = redrive::pg::Claim(connection, ClaimOf("webhook", "worker-b", 2));
    REQUIRE(webhook.size() == 2);
    // Two of the payment leases ran out.
    Execute(url, "UPDATE outbox SET claimed_until = now() - interval '1 second' WHERE id IN (" +
                     std::to_string(payment[0].outbox_id) + ", " +
                     std::to_string(payment[3].outbox_id) + ")");
  }

  const json status = Json(Ctl(url, {"-o", "json", "status"}));
  const json& payment = Consumer(status, "payment");
  CHECK(payment["pending"] == backlog);  // the backlog is counted whole
  CHECK(payment["in_flight_claims"] == 3);
  CHECK(payment["expired_claims"] == 2);
  const json& webhook = Consumer(status, "webhook");
  CHECK(webhook["pending"] == 100);
  CHECK(webhook["in_flight_claims"] == 2);
  CHECK(webhook["expired_claims"] == 0);

  const auto text = Ctl(url, {"status"});
  INFO(text.output);
  REQUIRE(text.exit_code == 0);
  const auto row = Row(text.output, "payment");
  REQUIRE(row.size() == 6);
  CHECK(row[1] == std::to_string(backlog));
  CHECK(row[3] == "3");
  CHECK(row[4] == "2");
}

TEST_CASE("redrivectl orders place creates the orders and their payment events") {
  MigratedDatabase database;
  const std::string url = database.Url();
  const json placed = Json(Ctl(url, {"-o", "json", "orders", "place", "--count", "5",
                                     "--amount-range", "100-200", "--currency", "eur"}));
  CHECK(placed["placed"] == 5);
  CHECK(placed["currency"] == "EUR");
  REQUIRE(placed["order_ids"].size() == 5);
  CHECK(Count(url, "SELECT count(*) FROM orders") == 5);
  CHECK(Count(url,
              "SELECT count(*) FROM orders WHERE state = 'CREATED' AND currency = 'EUR' "
              "AND amount_cents BETWEEN 100 AND 200") == 5);
  CHECK(Count(url,
              "SELECT count(*) FROM outbox WHERE consumer = 'payment' AND event_type = "
              "'OrderCreated' AND aggregate_id IN (SELECT id FROM orders)") == 5);
  for (const auto& id : placed["order_ids"]) {
    CHECK(Count(url, "SELECT count(*) FROM outbox WHERE aggregate_id = '" + id.get<std::string>() +
                         "'") == 1);
  }
  // Not an operator repair: no audit rows.
  CHECK(Count(url, "SELECT count(*) FROM redrive_log") == 0);

  const auto paced = Ctl(url, {"orders", "place", "--count", "3", "--rate", "20/s"});
  INFO(paced.output);
  CHECK(paced.exit_code == 0);
  CHECK(Contains(paced.output, "placed 3 orders (500-5000 USD cents)"));
  CHECK(Count(url, "SELECT count(*) FROM orders") == 8);
  CHECK(Count(url, "SELECT count(*) FROM outbox") == 8);
}

TEST_CASE("redrivectl status, orders and order exit 2 on misuse without touching the database") {
  MigratedDatabase database;
  const std::string url = database.Url();
  const std::vector<std::vector<std::string>> misuses = {
      {"status", "extra"},
      {"status", "--bogus"},
      {"orders"},
      {"orders", "frobnicate"},
      {"orders", "stuck", "--older-than", "5x"},
      {"orders", "stuck", "--older-than", ""},
      {"orders", "stuck", "--limit", "0"},
      {"orders", "stuck", "--limit", "many"},
      {"order", "show"},
      {"order", "show", "not-a-uuid"},
      {"orders", "show", "1234"},
      {"orders", "place"},
      {"orders", "place", "--count", "0"},
      {"orders", "place", "--count", "x"},
      {"orders", "place", "--count", "5", "--amount-range", "50-10"},
      {"orders", "place", "--count", "5", "--amount-range", "0-10"},
      {"orders", "place", "--count", "5", "--amount-range", "abc"},
      {"orders", "place", "--count", "5", "--currency", "US"},
      {"orders", "place", "--count", "5", "--currency", "U$D"},
      {"orders", "place", "--count", "5", "--rate", "0"},
      {"orders", "place", "--count", "5", "--rate", "fast"},
  };
  for (const auto& args : misuses) {
    std::string line;
    for (const auto& arg : args) line += arg + " ";
    INFO("redrivectl ", line);
    const auto result = Ctl(url, args);
    INFO(result.output);
    CHECK(result.exit_code == 2);
    CHECK_FALSE(result.output.empty());
  }
  CHECK(Count(url, "SELECT count(*) FROM orders") == 0);

  const auto help = Ctl(url, {"orders", "place", "--help"});
  CHECK(help.exit_code == 0);
  CHECK(Contains(help.output, "needs no --reason"));
}

TEST_CASE(
    "redrivectl status and orders exit 1 without printing the password when the "
    "database fails") {
  const std::string secret = "s3cret-pass-word";
  const std::string unreachable = "postgresql://redrive:" + secret +
                                  "@127.0.0.1:" + std::to_string(FreeLoopbackPort()) + "/redrive";
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"status"},
                                             {"-o", "json", "status"},
                                             {"orders", "stuck"},
                                             {"order", "show", kNeverSent},
                                             {"orders", "place", "--count", "2"}}) {
    INFO(args.back());
    const auto result = Ctl(unreachable, args, {{"REDRIVE_DATABASE_CONNECT_TIMEOUT_SECONDS", "2"}});
    INFO(result.output);
    CHECK(result.exit_code == 1);
    CHECK(Contains(result.output, "redrivectl "));
    CHECK_FALSE(Contains(result.output, secret));
  }
  // A database without the schema fails the query, not the connection.
  TestDatabase empty;
  const auto result = Ctl(empty.Url(), {"status"});
  CHECK(result.exit_code == 1);
  CHECK(Contains(result.output, "redrivectl status: "));
}

TEST_CASE("every redrivectl inspect scan is served by its index in a large database") {
  MigratedDatabase database;
  const std::string url = database.Url();
  // The rows that do not matter, then a few that do. Consumed events are records, not
  // outbox rows; dead rows stay in the outbox.
  SeedSettledHistory(url, 200000, /*with_audit_rows=*/true);
  SeedDeadWebhooks(url, 50000);
  for (int i = 0; i < 20; ++i) PlaceOrder(url);
  Execute(url, R"sql(
    UPDATE outbox SET claimed_by = 'worker-1', claimed_until = now() + interval '30 seconds'
    WHERE id IN (SELECT id FROM outbox WHERE dead_at IS NULL LIMIT 10);
    UPDATE orders SET state = 'NEEDS_REVIEW' WHERE id IN (SELECT id FROM orders LIMIT 3);
    UPDATE orders SET state = 'PAYMENT_PENDING' WHERE id IN (SELECT id FROM orders WHERE state = 'PAID' LIMIT 5);
    ANALYZE;
  )sql");

  CheckScansUseTheirIndexes(url, redrive::pg::InspectScans());
}
