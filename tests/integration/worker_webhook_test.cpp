// The webhook worker end to end: real PostgreSQL, real redrive-worker processes and a test
// subscriber that records what it receives and checks the signature on its own, with
// OpenSSL, the way a customer's endpoint would.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "tests/support/pg_cluster.hpp"
#include "tests/support/redrive_processes.hpp"
#include "tests/support/webhook_receiver.hpp"

namespace {

using namespace redrive::testing;
using namespace std::chrono_literals;

constexpr const char* kSecret = "s3cret";

std::map<std::string, std::string> WebhookEnv(const WebhookReceiver& receiver,
                                              std::map<std::string, std::string> extra = {}) {
  extra["REDRIVE_WEBHOOK_URL"] = receiver.Url();
  extra["REDRIVE_WEBHOOK_SECRET"] = kSecret;
  return extra;
}

std::string ExpectedSignature(const std::string& secret, const std::string& body) {
  const std::string signature = SubscriberSignature(secret, body);
  REQUIRE(signature.size() == 7 + 64);  // "sha256=" and 32 bytes in hex
  return signature;
}

int Count(const std::string& url, const std::string& sql) {
  return std::stoi(QueryValue(url, sql));
}

// An event as it was queued. Its payload is kept here: once the event is completed its
// outbox row, the only copy of the payload, is gone.
struct QueuedEvent {
  std::string id;
  nlohmann::json payload;
};

// Inserts one webhook event for a made-up order, the way the payment worker queues one.
QueuedEvent InsertPaymentEvent(const std::string& url, const std::string& type,
                               const std::string& status) {
  const auto row = nlohmann::json::parse(
      QueryValue(url,
                 "WITH o AS (SELECT gen_random_uuid() AS id), e AS ("
                 "INSERT INTO outbox (event_id, consumer, event_type, aggregate_id, payload) "
                 "SELECT gen_random_uuid(), 'webhook', '" +
                     type + "', o.id, jsonb_build_object('order_id', o.id, 'status', '" + status +
                     "', 'amount_cents', 1234, 'currency', 'EUR') FROM o " +
                     "RETURNING event_id, payload) "
                     "SELECT json_build_object('id', event_id, 'payload', payload)::text FROM e"));
  return {.id = row.at("id").get<std::string>(), .payload = row.at("payload")};
}

// Inserts a webhook event with any type and raw JSON payload; returns its event id.
std::string InsertRawEvent(const std::string& url, const std::string& type,
                           const std::string& payload) {
  return QueryValue(url,
                    "INSERT INTO outbox (event_id, consumer, event_type, payload) VALUES "
                    "(gen_random_uuid(), 'webhook', '" +
                        type + "', '" + payload + "') RETURNING event_id");
}

std::string EventRow(const std::string& url, const std::string& event_id,
                     const std::string& column) {
  return QueryValue(url, "SELECT " + column + " FROM outbox WHERE consumer = 'webhook' AND " +
                             "event_id = '" + event_id + "'");
}

// The event's processed_events record (its outbox row is gone once it is completed).
std::string ProcessedRow(const std::string& url, const std::string& event_id,
                         const std::string& column) {
  return QueryValue(url, "SELECT " + column +
                             " FROM processed_events WHERE consumer = 'webhook' AND event_id = '" +
                             event_id + "'");
}

// Completed: the outbox row is gone and the event is recorded as processed.
std::string CompletedQuery(const std::string& event_id) {
  return "SELECT NOT EXISTS (SELECT 1 FROM outbox WHERE event_id = '" + event_id +
         "') AND EXISTS (SELECT 1 FROM processed_events WHERE consumer = 'webhook' AND "
         "event_id = '" +
         event_id + "')";
}

bool IsUnixSeconds(const std::string& text) {
  return !text.empty() && text.size() <= 12 &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

// Everything a subscriber can check on one delivery of `event_id`, whose payload is `data`
// (when known: the test did not queue it itself).
void CheckDelivery(const std::string& url, const ReceivedRequest& request,
                   const std::string& event_id, const std::string& event_type,
                   const std::optional<nlohmann::json>& data) {
  INFO("event ", event_id, " body ", request.body);
  CHECK(request.method == "POST");
  CHECK(request.target == "/hooks");
  CHECK(request.Header("content-type") == "application/json");
  CHECK(request.Header("x-redrive-event-id") == event_id);
  CHECK(request.Header("x-redrive-event-type") == event_type);
  CHECK(request.Header("x-redrive-signature") == ExpectedSignature(kSecret, request.body));
  CHECK(request.Header("x-redrive-signature") != ExpectedSignature("not-the-secret", request.body));

  const std::string timestamp = request.Header("x-redrive-timestamp");
  REQUIRE(IsUnixSeconds(timestamp));
  CHECK(QueryValue(url, "SELECT abs(extract(epoch FROM now()) - " + timestamp + ") < 60") == "t");

  const auto body = nlohmann::json::parse(request.body, nullptr, false);
  REQUIRE(body.is_object());
  CHECK(body.size() == 3);
  CHECK(body.value("id", "") == event_id);
  CHECK(body.value("type", "") == event_type);
  if (data) CHECK(body.at("data") == *data);
}

}  // namespace

TEST_CASE("the webhook worker posts each payment event once, signed over its raw body") {
  MigratedDatabase database;
  const std::string url = database.Url();
  WebhookReceiver receiver;
  WorkerProcess worker(url, "webhook", WebhookEnv(receiver));
  REQUIRE(worker.WaitReady());

  std::map<std::string, std::string> types;        // event id -> event type
  std::map<std::string, nlohmann::json> payloads;  // event id -> payload
  for (int i = 0; i < 5; ++i) {
    const std::string type = i < 3 ? "PaymentSucceeded" : "PaymentFailed";
    const auto event = InsertPaymentEvent(url, type, i < 3 ? "succeeded" : "declined");
    types[event.id] = type;
    payloads[event.id] = event.payload;
  }

  REQUIRE(
      WaitForValue(url, "SELECT count(*) FROM processed_events WHERE consumer = 'webhook'", "5"));
  const auto requests = receiver.Requests();
  CHECK(requests.size() == 5);
  std::set<std::string> delivered;
  for (const auto& request : requests) {
    const std::string event_id = request.Header("x-redrive-event-id");
    REQUIRE(types.count(event_id) == 1);
    delivered.insert(event_id);
    CheckDelivery(url, request, event_id, types.at(event_id), payloads.at(event_id));
  }
  CHECK(delivered.size() == 5);

  // Completed: each outbox row gone, its record holding the order, type and attempts.
  CHECK(Count(url, "SELECT count(*) FROM outbox") == 0);
  CHECK(Count(url,
              "SELECT count(*) FROM processed_events WHERE consumer = 'webhook' AND "
              "attempts = 1 AND aggregate_id IS NOT NULL AND queued_at <= processed_at") == 5);
  for (const auto& [event_id, type] : types) {
    INFO("event ", event_id);
    CHECK(ProcessedRow(url, event_id, "event_type") == type);
    CHECK(ProcessedRow(url, event_id, "aggregate_id::text") ==
          payloads.at(event_id).at("order_id").get<std::string>());
  }
  CHECK(worker.Metric("redrive_worker_events_total{consumer=\"webhook\",outcome=\"completed\"}") ==
        5);
  // Completed events are never delivered again.
  SleepFor(600ms);
  CHECK(receiver.RequestCount() == 5);
}

TEST_CASE("a placed order is paid and its PaymentSucceeded reaches the webhook subscriber") {
  MigratedDatabase database;
  const std::string url = database.Url();
  GatewaySim gateway;
  WebhookReceiver receiver;
  WorkerProcess payments(url, "payment", {{"REDRIVE_GATEWAY_URL", gateway.Url()}});
  WorkerProcess webhooks(url, "webhook", WebhookEnv(receiver));
  REQUIRE(payments.WaitReady());
  REQUIRE(webhooks.WaitReady());

  const std::string order = PlaceOrder(url, 4200);
  REQUIRE(receiver.WaitForRequests(1));
  REQUIRE(
      WaitForValue(url, "SELECT count(*) FROM processed_events WHERE consumer = 'webhook'", "1"));
  const std::string event_id = QueryValue(
      url, "SELECT event_id FROM processed_events WHERE consumer = 'webhook' AND aggregate_id = '" +
               order + "'");
  REQUIRE_FALSE(event_id.empty());
  const auto requests = receiver.Requests();
  REQUIRE(requests.size() == 1);
  // The payment worker wrote the payload; what it must say is checked field by field.
  CheckDelivery(url, requests[0], event_id, "PaymentSucceeded", std::nullopt);
  const auto data = nlohmann::json::parse(requests[0].body).at("data");
  CHECK(data.value("order_id", "") == order);
  CHECK(data.value("status", "") == "succeeded");
  CHECK(data.value("amount_cents", 0) == 4200);
  CHECK(data.value("currency", "") == "USD");
  CHECK(data.value("payment_event_id", "") ==
        QueryValue(url,
                   "SELECT event_id FROM processed_events WHERE consumer = 'payment' AND "
                   "aggregate_id = '" +
                       order + "'"));

  CHECK(QueryValue(url, "SELECT state FROM orders WHERE id = '" + order + "'") == "PAID");
  CHECK(gateway.LedgerOrders().at(order).at("captures").get<int>() == 1);
}

TEST_CASE(
    "a webhook subscriber answering 503 is retried with backoff and delivered once it answers "
    "200") {
  MigratedDatabase database;
  const std::string url = database.Url();
  WebhookReceiver receiver;
  receiver.SetStatus(503);
  WorkerProcess worker(url, "webhook",
                       WebhookEnv(receiver, {{"REDRIVE_WORKER_MAX_ATTEMPTS", "1000"}}));
  REQUIRE(worker.WaitReady());

  const auto event = InsertPaymentEvent(url, "PaymentSucceeded", "succeeded");
  const std::string& event_id = event.id;
  REQUIRE(receiver.WaitForRequests(3));
  CHECK(EventRow(url, event_id, "dead_at IS NULL") == "t");
  CHECK(EventRow(url, event_id, "last_error").find("subscriber_503") != std::string::npos);
  CHECK(Count(url, "SELECT count(*) FROM processed_events") == 0);

  receiver.SetStatus(200);
  REQUIRE(WaitForValue(url, CompletedQuery(event_id), "t"));
  const auto requests = receiver.Requests();
  const int attempts = std::stoi(ProcessedRow(url, event_id, "attempts"));
  CHECK(attempts > 1);
  CHECK(static_cast<std::size_t>(attempts) == requests.size());  // one delivery per claim
  // Every attempt carries the same event and the same signed body.
  for (const auto& request : requests) {
    CheckDelivery(url, request, event_id, "PaymentSucceeded", event.payload);
  }
  CHECK(std::count_if(requests.begin(), requests.end(),
                      [](const ReceivedRequest& r) { return r.answered_status == 200; }) == 1);
  CHECK(requests.back().answered_status == 200);
  CHECK(Count(url, "SELECT count(*) FROM processed_events WHERE consumer = 'webhook'") == 1);
  SleepFor(600ms);
  CHECK(receiver.RequestCount() == requests.size());
}

TEST_CASE(
    "a webhook subscriber answering 429 with Retry-After is not called again before it asked") {
  MigratedDatabase database;
  const std::string url = database.Url();
  WebhookReceiver receiver;
  receiver.SetStatus(429, 1);
  // A backoff cap above the Retry-After, so the cap does not shorten the wait it asks for.
  WorkerProcess worker(url, "webhook",
                       WebhookEnv(receiver, {{"REDRIVE_WORKER_MAX_ATTEMPTS", "1000"},
                                             {"REDRIVE_WORKER_BACKOFF_BASE_MS", "50"},
                                             {"REDRIVE_WORKER_BACKOFF_MAX_MS", "5000"}}));
  REQUIRE(worker.WaitReady());

  const std::string event_id = InsertPaymentEvent(url, "PaymentFailed", "declined").id;
  REQUIRE(receiver.WaitForRequests(1));
  REQUIRE(WaitForValue(
      url, "SELECT last_error IS NOT NULL FROM outbox WHERE event_id = '" + event_id + "'", "t",
      5s));
  CHECK(EventRow(url, event_id, "last_error").find("subscriber_429") != std::string::npos);
  CHECK(EventRow(url, event_id, "available_at - now() > interval '500 milliseconds'") == "t");
  REQUIRE(receiver.WaitForRequests(2, 10s));
  receiver.SetStatus(200);

  REQUIRE(WaitForValue(url, CompletedQuery(event_id), "t"));
  const auto requests = receiver.Requests();
  REQUIRE(requests.size() >= 2);
  for (std::size_t i = 1; i < requests.size(); ++i) {
    const auto gap = requests[i].received_at - requests[i - 1].received_at;
    INFO("gap before attempt ", i + 1, ": ",
         std::chrono::duration_cast<std::chrono::milliseconds>(gap).count(), " ms");
    CHECK(gap >= 950ms);
  }
  CHECK(requests.back().answered_status == 200);
  CHECK(std::stoi(ProcessedRow(url, event_id, "attempts")) > 1);
  CHECK(Count(url, "SELECT count(*) FROM processed_events WHERE consumer = 'webhook'") == 1);
}

TEST_CASE(
    "a webhook subscriber answering 400 or 410 dead-letters the event and is not called again") {
  for (const int status : {400, 410}) {
    const std::string reason = "subscriber_" + std::to_string(status);
    SUBCASE(reason.c_str()) {
      MigratedDatabase database;
      const std::string url = database.Url();
      WebhookReceiver receiver;
      receiver.SetStatus(status);
      WorkerProcess worker(url, "webhook", WebhookEnv(receiver));
      REQUIRE(worker.WaitReady());

      const auto event = InsertPaymentEvent(url, "PaymentSucceeded", "succeeded");
      const std::string& event_id = event.id;
      REQUIRE(WaitForValue(url, "SELECT reason FROM dead_letter_events", reason));
      CHECK(QueryValue(url, "SELECT event_id FROM dead_letter_events") == event_id);
      CHECK(QueryValue(url, "SELECT attempts FROM dead_letter_events") == "1");
      CHECK(QueryValue(url, "SELECT last_error FROM dead_letter_events")
                .find(std::to_string(status)) != std::string::npos);
      CHECK(EventRow(url, event_id, "dead_at IS NOT NULL AND claimed_by IS NULL") == "t");
      CHECK(Count(url, "SELECT count(*) FROM processed_events") == 0);
      CHECK(worker.Metric("redrive_dead_letters_total{consumer=\"webhook\",reason=\"" + reason +
                          "\"}") == 1);
      SleepFor(600ms);
      const auto requests = receiver.Requests();
      REQUIRE(requests.size() == 1);
      CheckDelivery(url, requests[0], event_id, "PaymentSucceeded", event.payload);
    }
  }
}

TEST_CASE("poison webhook events are dead-lettered without any delivery and the worker goes on") {
  MigratedDatabase database;
  const std::string url = database.Url();
  WebhookReceiver receiver;
  WorkerProcess worker(url, "webhook",
                       WebhookEnv(receiver, {{"REDRIVE_WORKER_MAX_PAYLOAD_BYTES", "2048"}}));
  REQUIRE(worker.WaitReady());

  InsertRawEvent(url, "OrderShipped", R"({"order_id": "6f1c1f8e-4a55-4d59-9f59-3a8f6f0c0a01"})");
  InsertRawEvent(url, "PaymentSucceeded", "[1, 2, 3]");
  InsertRawEvent(url, "PaymentFailed", R"("declined")");
  InsertRawEvent(url, "PaymentSucceeded", "null");
  InsertRawEvent(url, "PaymentSucceeded", R"({"pad": ")" + std::string(3000, 'x') + R"("})");
  REQUIRE(WaitForValue(url, "SELECT count(*) FROM dead_letter_events", "5"));
  CHECK(QueryValue(url,
                   "SELECT string_agg(reason, ',' ORDER BY outbox_id) FROM "
                   "dead_letter_events") ==
        "unknown_event_type,malformed_payload,malformed_payload,malformed_payload,"
        "payload_too_large");
  CHECK(Count(url,
              "SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL AND attempts = 1 AND "
              "claimed_by IS NULL") == 5);
  CHECK(receiver.RequestCount() == 0);

  // Poison never blocks good work behind it.
  const auto good = InsertPaymentEvent(url, "PaymentSucceeded", "succeeded");
  REQUIRE(receiver.WaitForRequests(1));
  CHECK(WaitForValue(url, CompletedQuery(good.id), "t"));
  CHECK(receiver.RequestCount() == 1);
  CheckDelivery(url, receiver.Requests()[0], good.id, "PaymentSucceeded", good.payload);
  CHECK(worker.process().Running());
  CHECK(worker.Metric(
            "redrive_dead_letters_total{consumer=\"webhook\",reason=\"malformed_payload\"}") == 3);
}

TEST_CASE(
    "a webhook subscriber that does not answer within webhook.timeout_ms is retried as a timeout") {
  MigratedDatabase database;
  const std::string url = database.Url();
  WebhookReceiver receiver;
  receiver.SetResponseDelay(3s);
  WorkerProcess worker(url, "webhook",
                       WebhookEnv(receiver, {{"REDRIVE_WEBHOOK_TIMEOUT_MS", "300"},
                                             {"REDRIVE_WORKER_MAX_ATTEMPTS", "1000"}}));
  REQUIRE(worker.WaitReady());

  const std::string event_id = InsertPaymentEvent(url, "PaymentSucceeded", "succeeded").id;
  // The worker gives up after 300 ms and comes back, long before the 3 s hold ends.
  REQUIRE(receiver.WaitForRequests(2, 2500ms));
  const auto held = receiver.Requests();
  CHECK(held[1].received_at - held[0].received_at >= 250ms);
  CHECK(held[1].received_at - held[0].received_at < 2500ms);
  const std::string last_error = EventRow(url, event_id, "last_error");
  INFO("last_error: ", last_error);
  CHECK(last_error.rfind("transport_error", 0) == 0);
  CHECK(last_error.find("timeout") != std::string::npos);
  CHECK(EventRow(url, event_id, "dead_at IS NULL") == "t");

  receiver.SetResponseDelay(0ms);
  REQUIRE(WaitForValue(url, CompletedQuery(event_id), "t"));
  CHECK(std::stoi(ProcessedRow(url, event_id, "attempts")) > 1);
  CHECK(Count(url, "SELECT count(*) FROM processed_events WHERE consumer = 'webhook'") == 1);
  CHECK(worker.Metric("redrive_worker_events_total{consumer=\"webhook\",outcome=\"retried\"}") >=
        1);
}

TEST_CASE("the webhook worker without webhook.url exits 2 naming the key") {
  const auto result =
      RunCommand({BinaryPath("redrive-worker"), "--consumer", "webhook"},
                 {{"REDRIVE_DATABASE_URL", "postgresql://redrive@127.0.0.1:1/unused"},
                  {"REDRIVE_WEBHOOK_SECRET", kSecret}},
                 20s);
  INFO("output: ", result.output);
  CHECK(result.exit_code == 2);
  CHECK(result.output.find("webhook.url") != std::string::npos);
  CHECK(result.output.find(kSecret) == std::string::npos);
}

TEST_CASE("the webhook worker without webhook.secret exits 2 naming the key") {
  const auto result =
      RunCommand({BinaryPath("redrive-worker"), "--consumer", "webhook"},
                 {{"REDRIVE_DATABASE_URL", "postgresql://redrive@127.0.0.1:1/unused"},
                  {"REDRIVE_WEBHOOK_URL", "http://127.0.0.1:1/hooks"}},
                 20s);
  INFO("output: ", result.output);
  CHECK(result.exit_code == 2);
  CHECK(result.output.find("webhook.secret") != std::string::npos);
}

TEST_CASE("a webhook subscriber answering 200 with a large body is delivered once") {
  MigratedDatabase database;
  const std::string url = database.Url();
  WebhookReceiver receiver;
  receiver.SetResponseBody(std::string(200 * 1024, 'x'));
  const std::string event_id = InsertPaymentEvent(url, "PaymentSucceeded", "succeeded").id;
  WorkerProcess worker(url, "webhook", WebhookEnv(receiver));
  REQUIRE(WaitForValue(url, CompletedQuery(event_id), "t"));
  SleepFor(500ms);
  CHECK(receiver.RequestCount() == 1);
  CHECK(ProcessedRow(url, event_id, "attempts") == "1");
}

TEST_CASE("the noop consumer completes every event it claims and records each as processed") {
  MigratedDatabase database;
  const std::string url = database.Url();
  Execute(url,
          "INSERT INTO outbox (event_id, consumer, event_type, payload) "
          "SELECT gen_random_uuid(), 'noop', 'Anything', jsonb_build_object('n', g) "
          "FROM generate_series(1, 100) g");
  // Another consumer's row stays untouched.
  const std::string other = InsertPaymentEvent(url, "PaymentSucceeded", "succeeded").id;
  const std::string queued = QueryValue(
      url,
      "SELECT string_agg(event_id || '@' || created_at, ',' ORDER BY event_id) FROM outbox "
      "WHERE consumer = 'noop'");

  WorkerProcess worker(url, "noop");
  REQUIRE(worker.WaitReady());
  REQUIRE(
      WaitForValue(url, "SELECT count(*) FROM processed_events WHERE consumer = 'noop'", "100"));
  // Each completion deleted its row and recorded the event with what the row held.
  CHECK(Count(url, "SELECT count(*) FROM outbox WHERE consumer = 'noop'") == 0);
  CHECK(Count(url,
              "SELECT count(*) FROM processed_events WHERE consumer = 'noop' AND attempts = 1 "
              "AND event_type = 'Anything' AND aggregate_id IS NULL") == 100);
  CHECK(QueryValue(url,
                   "SELECT string_agg(event_id || '@' || queued_at, ',' ORDER BY event_id) "
                   "FROM processed_events WHERE consumer = 'noop'") == queued);
  CHECK(Count(url, "SELECT count(*) FROM dead_letter_events") == 0);
  CHECK(EventRow(url, other, "attempts = 0 AND dead_at IS NULL") == "t");
  CHECK(worker.Metric("redrive_worker_events_total{consumer=\"noop\",outcome=\"completed\"}") ==
        100);
}

TEST_CASE("completions are group-committed: a drain takes far fewer transactions than events") {
  MigratedDatabase database;
  const std::string url = database.Url();
  Execute(url,
          "INSERT INTO outbox (event_id, consumer, event_type, payload) "
          "SELECT gen_random_uuid(), 'noop', 'Ping', '{}' FROM generate_series(1, 3000)");
  const auto commits = [&] {
    return std::stoll(QueryValue(
        url, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"));
  };
  const long long before = commits();
  WorkerProcess worker(url, "noop", {{"REDRIVE_WORKER_BATCH_SIZE", "100"}});
  REQUIRE(worker.WaitReady());
  CHECK(WaitForValue(url, "SELECT count(*) FROM processed_events WHERE consumer = 'noop'", "3000"));
  CHECK(Count(url, "SELECT count(*) FROM outbox") == 0);
  // One claim per 100 events and completions sharing commits; per-event transactions would
  // need 3,000 or more. The bound leaves room for the worker's own checks and this test's
  // polling (statistics are reported with a delay, so counts are approximate).
  SleepFor(std::chrono::milliseconds(700));
  CHECK(commits() - before < 1000);
}

TEST_CASE("a worker with a backlog stops listening, and listens again once caught up") {
  MigratedDatabase database;
  const std::string url = database.Url();
  // Batches of one keep the worker busy (every claim full) for seconds.
  Execute(url,
          "INSERT INTO outbox (consumer, event_type, payload) "
          "SELECT 'noop', 'Ping', '{}' FROM generate_series(1, 8000)");
  const auto listener_said = [&](const std::string& statement) {
    return Count(url,
                 "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND query LIKE '" +
                     statement + " %'") == 1;
  };
  WorkerProcess worker(url, "noop", {{"REDRIVE_WORKER_BATCH_SIZE", "1"}});
  REQUIRE(worker.WaitReady());
  CHECK(WaitUntil([&] { return listener_said("UNLISTEN"); }, std::chrono::seconds(20)));
  CHECK(Count(url, "SELECT count(*) FROM outbox") > 0);

  CHECK(WaitForValue(url, "SELECT count(*) FROM outbox", "0"));
  CHECK(WaitUntil([&] { return listener_said("LISTEN"); }, std::chrono::seconds(5)));
  // And it still takes new work.
  Execute(url, "INSERT INTO outbox (consumer, event_type, payload) VALUES ('noop', 'Ping', '{}')");
  CHECK(WaitForValue(url, "SELECT count(*) FROM outbox", "0"));
}
