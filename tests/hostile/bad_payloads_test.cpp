// Hostile outbox rows, end to end: real PostgreSQL, real redrive-worker processes, a real
// gateway-sim and a real webhook subscriber. Every poison row must end in
// dead_letter_events with its reason after one attempt, valid events around it must keep
// flowing, and the worker must neither die nor grow without bound.
//
// What can reach a worker at all is decided first: the payload column is jsonb, so
// PostgreSQL itself refuses text that is not JSON, \u0000, invalid UTF-8, lone surrogates
// and nesting beyond its max_stack_depth; the orders table refuses bad amounts and
// currencies; the NOTIFY trigger refuses event types of 8000 bytes or more. What is left
// (any JSON value of any shape, any event type, any size up to 1 GB) is what the workers are
// tested with.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "tests/support/http_client.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/redrive_processes.hpp"
#include "tests/support/webhook_receiver.hpp"
#include "workers/event_decoding.hpp"

namespace {

using namespace redrive::testing;
using namespace std::chrono_literals;

constexpr const char* kSecret = "hostile-webhook-secret";
constexpr long long kMiB = 1024 * 1024;
using Strings = std::vector<std::string>;

long long CountOf(const std::string& url, const std::string& sql) {
  return std::stoll(QueryValue(url, sql));
}

// The SQLSTATE PostgreSQL answers with, or "" when the statement succeeds. `param`, when
// given, is sent as $1 exactly as its bytes are (no client-side validation).
std::string SqlStateOf(const std::string& url, const std::string& sql,
                       const std::optional<std::string>& param = std::nullopt) {
  try {
    pqxx::connection connection(url);
    pqxx::work tx(connection);
    if (param) {
      tx.exec_params(sql, *param);
    } else {
      tx.exec(sql);
    }
    tx.commit();
    return "";
  } catch (const pqxx::sql_error& error) {
    return error.sqlstate();
  } catch (const std::exception& error) {
    return std::string("client: ") + error.what();
  }
}

// `json` as PostgreSQL stores and prints it: what a row holding it would give a worker.
std::string AsJsonb(const std::string& url, const std::string& json) {
  pqxx::connection connection(url);
  pqxx::nontransaction tx(connection);
  return tx.exec_params1("SELECT $1::jsonb::text", json)[0].as<std::string>();
}

// Inserts one outbox row with the payload given as JSON text; returns its event id.
std::string InsertEvent(const std::string& url, const std::string& consumer,
                        const std::string& type, const std::string& payload) {
  pqxx::connection connection(url);
  pqxx::work tx(connection);
  const auto row = tx.exec_params1(
      "INSERT INTO outbox (event_id, consumer, event_type, payload) "
      "VALUES (gen_random_uuid(), $1, $2, $3::jsonb) RETURNING event_id",
      consumer, type, payload);
  tx.commit();
  return row[0].as<std::string>();
}

// Inserts one outbox row whose payload is {"order_id": order_id, "pad": <bytes x's>}, built
// inside PostgreSQL so a test does not ship megabytes over the socket.
std::string InsertPaddedEvent(const std::string& url, const std::string& consumer,
                              const std::string& type, const std::string& order_id,
                              long long bytes) {
  return QueryValue(url,
                    "INSERT INTO outbox (event_id, consumer, event_type, payload) VALUES "
                    "(gen_random_uuid(), '" +
                        consumer + "', '" + type + "', jsonb_build_object('order_id', '" +
                        order_id + "', 'pad', repeat('x', " + std::to_string(bytes) +
                        "))) RETURNING event_id");
}

// An order row without its OrderCreated event, so the test decides which event drives it.
std::string InsertOrder(const std::string& url, long long amount_cents,
                        const std::string& currency) {
  return QueryValue(url,
                    "INSERT INTO orders (customer_id, amount_cents, currency) VALUES "
                    "('hostile', " +
                        std::to_string(amount_cents) + ", '" + currency + "') RETURNING id");
}

std::string RandomUuid(const std::string& url) {
  return QueryValue(url, "SELECT gen_random_uuid()");
}

std::string Nested(int depth, const std::string& inner = "1") {
  return std::string(static_cast<std::size_t>(depth), '[') + inner +
         std::string(static_cast<std::size_t>(depth), ']');
}

std::string Upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

// A field of /proc/<pid>/status in kB (VmRSS, VmHWM), or -1.
long long ProcStatusKb(int pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

struct Poison {
  std::string what;  // for the failure message
  std::string event_id;
  std::string reason;
};

// Every poison row went to dead_letter_events once, with its reason and a short error,
// after exactly one attempt, and its outbox row is dead and unclaimed, never consumed.
void CheckDeadLettered(const std::string& url, const std::vector<Poison>& poison) {
  for (const Poison& row : poison) {
    INFO(row.what);
    const std::string where = " WHERE event_id = '" + row.event_id + "'";
    CHECK(QueryValue(url, "SELECT string_agg(reason, ',') FROM dead_letter_events" + where) ==
          row.reason);
    CHECK(QueryValue(url, "SELECT attempts FROM dead_letter_events" + where) == "1");
    // The error says why; it never carries the payload (some are megabytes).
    CHECK(CountOf(url,
                  "SELECT coalesce(max(octet_length(last_error)), 0) FROM "
                  "dead_letter_events" +
                      where) < 300);
    CHECK(QueryValue(url,
                     "SELECT dead_at IS NOT NULL AND claimed_by IS NULL AND attempts = 1 FROM "
                     "outbox" +
                         where) == "t");
    CHECK(CountOf(url, "SELECT count(*) FROM processed_events" + where) == 0);
  }
}

// The charge the gateway holds for an order: what it was asked to capture.
nlohmann::json GatewayCharge(const GatewaySim& gateway, const std::string& order_id) {
  // The key the worker sends: domain::IdempotencyKeyForOrder.
  const auto reply = HttpGet(gateway.port(), "/v1/charges?idempotency_key=order-" + order_id);
  REQUIRE_MESSAGE(reply.status == 200, reply.status, " ", reply.body);
  return nlohmann::json::parse(reply.body);
}

}  // namespace

TEST_CASE(
    "hostile: PostgreSQL refuses invalid JSON, NUL, bad UTF-8, deep nesting and bad "
    "orders before a worker could see them") {
  MigratedDatabase database;
  const std::string url = database.Url();
  const std::string insert =
      "INSERT INTO outbox (event_id, consumer, event_type, payload) "
      "VALUES (gen_random_uuid(), 'payment', 'OrderCreated', $1::jsonb)";

  // Truly invalid JSON cannot be stored: jsonb parses on the way in.
  CHECK(SqlStateOf(url, insert, std::string(R"({"order_id": )")) == "22P02");
  CHECK(SqlStateOf(url, insert, std::string(R"({"order_id": 'single quotes'})")) == "22P02");
  CHECK(SqlStateOf(url, insert, std::string(R"({"a": 1,})")) == "22P02");
  CHECK(SqlStateOf(url, insert, std::string("NaN")) == "22P02");
  // \u0000 has no text representation: untranslatable_character.
  CHECK(SqlStateOf(url, insert, std::string(R"({"order_id": "a\u0000b"})")) == "22P05");
  // A raw NUL byte cannot even be sent as a text parameter: libpq ends the string there,
  // so PostgreSQL sees a truncated, invalid document.
  CHECK(SqlStateOf(url, insert, std::string("{\"a\": \"x\0y\"}", 12)) == "22P02");
  // Invalid UTF-8 never gets past the server's encoding check (the database is UTF8).
  CHECK(SqlStateOf(url, insert, std::string("{\"a\": \"\xff\xfe\"}")) == "22021");
  CHECK(SqlStateOf(url, insert, std::string("{\"a\": \"\xc3\x28\"}")) == "22021");
  CHECK(SqlStateOf(url, insert, std::string("{\"a\": \"\xed\xa0\x80\"}")) == "22021");
  // A lone surrogate escape is rejected by jsonb's parser.
  CHECK(SqlStateOf(url, insert, std::string(R"({"a": "\ud800"})")) == "22P02");
  // 100 000 nested arrays: PostgreSQL's recursive parser hits max_stack_depth first
  // (statement_too_complex). About 12 000 levels is the most the default 2 MB allows.
  CHECK(SqlStateOf(url, insert, Nested(100000)) == "54001");
  CHECK(SqlStateOf(url, insert, Nested(10000)) == "");
  CHECK(CountOf(url, "SELECT count(*) FROM outbox") == 1);
  Execute(url, "DELETE FROM outbox");

  // Orders: the amount must be a positive bigint and the currency three capital letters,
  // and place_order is one transaction, so a refused order leaves no event behind either.
  for (const std::string& amount : Strings{"0", "-1", "'-9223372036854775808'"}) {
    CHECK(SqlStateOf(url, "SELECT place_order('hostile', " + amount + ", 'USD')") == "23514");
  }
  CHECK(SqlStateOf(url, "SELECT place_order('hostile', '9223372036854775808', 'USD')") == "22003");
  CHECK(SqlStateOf(url, "SELECT place_order('hostile', '12abc', 'USD')") == "22P02");
  CHECK(SqlStateOf(url, "SELECT place_order('hostile', 10.5, 'USD')") == "42883");
  for (const std::string& currency : Strings{"US", "US1", "U$D",
                                             "\xe2\x82\xac"
                                             "UR",
                                             ""}) {
    CHECK_MESSAGE(SqlStateOf(url, "SELECT place_order('hostile', 100, $1)", currency) == "23514",
                  currency);
  }
  CHECK(SqlStateOf(url, "SELECT place_order('hostile', 100, 'USDX')") == "22001");
  CHECK(CountOf(url, "SELECT count(*) FROM orders") == 0);
  CHECK(CountOf(url, "SELECT count(*) FROM outbox") == 0);

  // The insert trigger NOTIFYs with the event type, and a NOTIFY payload must stay under
  // 8000 bytes: an event type that long cannot be inserted at all.
  const std::string long_type(8000, 'T');
  CHECK(SqlStateOf(url,
                   "INSERT INTO outbox (event_id, consumer, event_type, payload) "
                   "VALUES (gen_random_uuid(), 'payment', $1, '{}')",
                   long_type) == "22023");
  CHECK(CountOf(url, "SELECT count(*) FROM outbox") == 0);
}

TEST_CASE(
    "hostile: every poison OrderCreated is dead-lettered with its reason while orders "
    "around it are paid at their own amount") {
  MigratedDatabase database;
  const std::string url = database.Url();
  GatewaySim gateway;
  WorkerProcess worker(url, "payment", {{"REDRIVE_GATEWAY_URL", gateway.Url()}});
  REQUIRE(worker.WaitReady());

  const std::string before = PlaceOrder(url, 1001);
  REQUIRE(WaitForValue(url, "SELECT state FROM orders WHERE id = '" + before + "'", "PAID"));

  std::vector<Poison> poison;
  const auto add = [&](const std::string& what, const std::string& type, const std::string& payload,
                       const std::string& reason) {
    poison.push_back({what, InsertEvent(url, "payment", type, payload), reason});
  };
  const std::string unknown = RandomUuid(url);  // no such order
  const auto with_order = [](const std::string& id, const std::string& rest = "") {
    return R"({"order_id": ")" + id + "\"" + rest + "}";
  };

  // Orders that exist but must never be charged: their only event is poison.
  const std::string untouched_type = InsertOrder(url, 4242, "USD");
  const std::string untouched_huge = InsertOrder(url, 4343, "USD");
  const std::string untouched_number = InsertOrder(url, 4444, "USD");

  // Not an object, or an object without order_id.
  for (const std::string& payload : Strings{R"("OrderCreated")", "42", "-0.5", "null", "true", "[]",
                                            "{}", R"([{"order_id": ")" + unknown + R"("}])"}) {
    add("payload " + payload, "OrderCreated", payload, "malformed_payload");
  }
  // order_id of the wrong type or shape.
  for (const std::string& value :
       Strings{"12345", "null", "true", "1.5e300", R"([")" + unknown + R"("])",
               R"({"id": ")" + unknown + R"("})"}) {
    add("order_id " + value, "OrderCreated", R"({"order_id": )" + value + "}", "malformed_payload");
  }
  std::string no_dashes = unknown;
  std::erase(no_dashes, '-');
  for (const std::string& id : Strings{
           std::string(""), std::string("not-a-uuid"), "{" + unknown + "}", "urn:uuid:" + unknown,
           " " + unknown, unknown + "\\n", no_dashes, unknown + "'; DROP TABLE orders; --",
           std::string("\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667-0000-0000-0000-"
                       "000000000000")}) {
    add("order_id \"" + id + "\"", "OrderCreated", with_order(id), "malformed_payload");
  }
  // A number beyond a double's range (PostgreSQL prints numeric without an exponent):
  // the worker cannot parse the payload, so it is poison even though order_id is fine, and
  // the order is left for the controller instead of being charged from a half-read event.
  add("a 401-digit amount_cents", "OrderCreated",
      with_order(untouched_number, R"(, "amount_cents": 1e400)"), "malformed_payload");
  // Nesting: the deepest PostgreSQL stores by default, and just past the worker's limit.
  add("10000 nested arrays", "OrderCreated", Nested(10000), "malformed_payload");
  add("an object nested past the limit", "OrderCreated",
      with_order(unknown, R"(, "x": )" + Nested(redrive::workers::kMaxPayloadDepth)),
      "malformed_payload");
  // Well-formed enough to look the order up, and there is no such order: amounts and
  // currencies in the payload are irrelevant, whatever their type.
  add("nesting right at the limit", "OrderCreated",
      with_order(unknown, R"(, "x": )" + Nested(redrive::workers::kMaxPayloadDepth - 1)),
      "order_not_found");
  for (const std::string& rest :
       Strings{std::string(""), std::string(R"(, "amount_cents": "1000", "currency": 978)"),
               std::string(R"(, "amount_cents": -5, "currency": "XXX")"),
               std::string(R"(, "amount_cents": 0)"),
               std::string(R"(, "amount_cents": 9223372036854775808, "currency": "usd")"),
               std::string(R"(, "amount_cents": 10.25, "order_id_2": null)")}) {
    add("unknown order" + rest, "OrderCreated", with_order(unknown, rest), "order_not_found");
  }
  add("upper-case unknown order", "OrderCreated", with_order(Upper(RandomUuid(url))),
      "order_not_found");
  add("nil uuid", "OrderCreated", with_order("00000000-0000-0000-0000-000000000000"),
      "order_not_found");
  // Event types the payment consumer does not handle, with a payload naming a real order.
  for (const std::string& type :
       Strings{std::string("OrderShipped"), std::string(""), std::string("orderCreated"),
               std::string("OrderCreated "), std::string("\xc3\x96rderCreated"),
               std::string("PaymentSucceeded"), std::string(7900, 'T')}) {
    add("event type \"" + type.substr(0, 40) + "\"", type, with_order(untouched_type),
        "unknown_event_type");
  }
  // 10 MB, far past the default worker.max_payload_bytes (64 KiB): not even read.
  poison.push_back({"a 10 MB payload",
                    InsertPaddedEvent(url, "payment", "OrderCreated", untouched_huge, 10 * kMiB),
                    "payload_too_large"});

  // Real orders whose events carry nonsense beside a good order_id: the charge is made from
  // the order row, so the gateway sees the order's amount and currency, never the payload's.
  struct Charged {
    std::string order_id;
    long long amount;
    std::string currency;
  };
  std::vector<Charged> charged;
  const auto add_charged = [&](long long amount, const std::string& currency,
                               const std::string& rest, bool upper_case = false) {
    const std::string id = InsertOrder(url, amount, currency);
    InsertEvent(url, "payment", "OrderCreated", with_order(upper_case ? Upper(id) : id, rest));
    charged.push_back({id, amount, currency});
  };
  add_charged(1234, "USD", R"(, "amount_cents": "abc", "currency": 42)");
  add_charged(555, "EUR", R"(, "amount_cents": -99999, "currency": "ZZZ", "x": [[[{}]]])");
  add_charged(777, "JPY", R"(, "amount_cents": 9223372036854775808)", true);
  add_charged(888, "GBP", R"(, "amount_cents": 0, "customer_id": {"$ne": null})");

  const std::string after = PlaceOrder(url, 1002);
  REQUIRE(WaitForValue(url, "SELECT state FROM orders WHERE id = '" + after + "'", "PAID"));
  REQUIRE(
      WaitForValue(url, "SELECT count(*) FROM dead_letter_events", std::to_string(poison.size())));
  for (const Charged& order : charged) {
    INFO("order ", order.order_id);
    REQUIRE(
        WaitForValue(url, "SELECT state FROM orders WHERE id = '" + order.order_id + "'", "PAID"));
    const auto charge = GatewayCharge(gateway, order.order_id);
    CHECK(charge.at("amount_cents").get<long long>() == order.amount);
    CHECK(charge.at("currency").get<std::string>() == order.currency);
  }

  CheckDeadLettered(url, poison);
  for (const std::string& id : Strings{untouched_type, untouched_huge, untouched_number}) {
    CHECK(QueryValue(url, "SELECT state FROM orders WHERE id = '" + id + "'") == "CREATED");
  }
  const auto ledger = gateway.LedgerOrders();
  CHECK(ledger.size() == charged.size() + 2);  // the poison reached the gateway not once
  for (const auto& [order_id, entry] : ledger.items()) {
    INFO("order ", order_id);
    CHECK(entry.at("captures").get<int>() == 1);
  }
  CHECK(CountOf(url,
                "SELECT count(*) FROM outbox WHERE dead_at IS NULL AND consumer = 'payment'") == 0);

  CHECK(worker.process().Running());
  CHECK(HttpGet(worker.admin_port(), "/healthz").status == 200);
  CHECK(HttpGet(worker.admin_port(), "/readyz").status == 200);
  long long malformed = 0;
  for (const Poison& row : poison) malformed += row.reason == "malformed_payload" ? 1 : 0;
  CHECK(worker.Metric(
            "redrive_dead_letters_total{consumer=\"payment\",reason=\"malformed_payload\"}") ==
        static_cast<double>(malformed));
  // One log line per event, never a payload: the log stays small.
  CHECK(worker.Log().size() < 256 * 1024);
  CHECK(ProcStatusKb(worker.process().pid(), "VmRSS") < 200 * 1024);
}

TEST_CASE(
    "hostile: ten-megabyte payloads are paid and oversized ones dead-lettered with the "
    "worker's memory bounded") {
  MigratedDatabase database;
  const std::string url = database.Url();
  GatewaySim gateway;
  // Queued before the worker starts, so one claim takes the whole batch at once: the worst
  // case for memory.
  constexpr int kLarge = 6;
  std::vector<std::string> orders;
  for (int i = 0; i < kLarge; ++i) {
    orders.push_back(InsertOrder(url, 100 + i, "USD"));
    InsertPaddedEvent(url, "payment", "OrderCreated", orders.back(), 10 * kMiB);
  }
  std::vector<Poison> poison;
  for (int i = 0; i < 2; ++i) {
    poison.push_back({"17 MiB payload",
                      InsertPaddedEvent(url, "payment", "OrderCreated", RandomUuid(url), 17 * kMiB),
                      "payload_too_large"});
  }
  PlaceOrder(url, 1003);

  WorkerProcess worker(url, "payment",
                       {{"REDRIVE_GATEWAY_URL", gateway.Url()},
                        {"REDRIVE_WORKER_MAX_PAYLOAD_BYTES", std::to_string(16 * kMiB)}});
  REQUIRE(worker.WaitReady());
  REQUIRE(WaitForValue(url, "SELECT count(*) FROM orders WHERE state = 'PAID'",
                       std::to_string(kLarge + 1)));
  REQUIRE(WaitForValue(url, "SELECT count(*) FROM dead_letter_events", "2"));
  CheckDeadLettered(url, poison);
  CHECK(worker.process().Running());

  // 60 MB of payloads went through in one batch. The claim holds each twice for a moment
  // (libpq's result and the claimed rows); nothing else may copy them per event.
  const int pid = worker.process().pid();
  const long long peak_kb = ProcStatusKb(pid, "VmHWM");
  const long long rss_kb = ProcStatusKb(pid, "VmRSS");
  MESSAGE("worker memory after six 10 MB payloads: peak ", peak_kb / 1024, " MB, now ",
          rss_kb / 1024, " MB");
  CHECK(peak_kb > 0);
  const double metric = worker.Metric("process_resident_memory_bytes");
  CHECK(metric > 0);
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer keeps freed memory in quarantine and pads every allocation, so resident
  // memory measures the sanitizer, not the worker: the plain build checks the bounds.
  MESSAGE("memory bounds are checked by the plain build, not under AddressSanitizer");
#else
  CHECK(peak_kb < 300 * 1024);
  CHECK(rss_kb < 200 * 1024);
  // The metric agrees with /proc.
  CHECK(metric < 200.0 * kMiB);
#endif

  // And it keeps working.
  const std::string after = PlaceOrder(url, 1004);
  CHECK(WaitForValue(url, "SELECT state FROM orders WHERE id = '" + after + "'", "PAID"));
}

TEST_CASE(
    "hostile: the webhook worker dead-letters poison payment events and delivers the "
    "valid ones around them intact") {
  MigratedDatabase database;
  const std::string url = database.Url();
  WebhookReceiver receiver;
  WorkerProcess worker(url, "webhook",
                       {{"REDRIVE_WEBHOOK_URL", receiver.Url()},
                        {"REDRIVE_WEBHOOK_SECRET", kSecret},
                        {"REDRIVE_WORKER_MAX_PAYLOAD_BYTES", std::to_string(kMiB / 2)}});
  REQUIRE(worker.WaitReady());

  std::map<std::string, std::string> valid;  // event id -> payload as inserted
  const auto add_valid = [&](const std::string& payload) {
    valid[InsertEvent(url, "webhook", "PaymentSucceeded", payload)] = payload;
  };
  add_valid(R"({"order_id": "before", "status": "succeeded"})");
  REQUIRE(receiver.WaitForRequests(1));

  std::vector<Poison> poison;
  const auto add = [&](const std::string& what, const std::string& type, const std::string& payload,
                       const std::string& reason) {
    poison.push_back({what, InsertEvent(url, "webhook", type, payload), reason});
  };
  for (const std::string& payload : Strings{R"("declined")", "0", "null", "false", "[1, 2]"}) {
    add("payload " + payload, "PaymentFailed", payload, "malformed_payload");
  }
  add("10000 nested arrays", "PaymentSucceeded", Nested(10000), "malformed_payload");
  add("an object nested past the limit", "PaymentSucceeded",
      R"({"x": )" + Nested(redrive::workers::kMaxPayloadDepth) + "}", "malformed_payload");
  for (const std::string& type :
       Strings{"OrderCreated", "paymentsucceeded", "Payment Failed", ""}) {
    add("event type \"" + type + "\"", type, R"({"status": "succeeded"})", "unknown_event_type");
  }
  // A superuser may raise max_stack_depth for its session; then jsonb stores about 50 000
  // levels, enough to overflow a recursive copy or dump in the worker. The worker must not
  // even try.
  {
    pqxx::connection connection(url);
    pqxx::work tx(connection);
    tx.exec("SET LOCAL max_stack_depth = '7680kB'");
    const auto row = tx.exec_params1(
        "INSERT INTO outbox (event_id, consumer, event_type, payload) "
        "VALUES (gen_random_uuid(), 'webhook', 'PaymentSucceeded', $1::jsonb) "
        "RETURNING event_id",
        R"({"x": )" + Nested(40000) + "}");
    tx.commit();
    poison.push_back({"40000 levels", row[0].as<std::string>(), "malformed_payload"});
  }
  poison.push_back({"a 10 MB payload",
                    InsertPaddedEvent(url, "webhook", "PaymentSucceeded", "x", 10 * kMiB),
                    "payload_too_large"});

  // Valid, if unusual: escapes, non-ASCII text, big numbers, nesting right at the limit,
  // and a body just under the size limit. Each arrives as the row holds it, signed.
  add_valid(
      R"({"note": "\u00e9 \u2713 \ud83d\ude80 \"quoted\" back\\slash \u001f tab\t", "n": 1e300})");
  add_valid(R"({"amount_cents": 9223372036854775808, "deep": )" +
            Nested(redrive::workers::kMaxPayloadDepth - 1) + "}");
  add_valid(R"({"pad": ")" + std::string(static_cast<std::size_t>(kMiB / 2 - 100), 'p') + R"("})");
  add_valid(R"({"order_id": "after", "status": "succeeded"})");

  REQUIRE(
      WaitForValue(url, "SELECT count(*) FROM dead_letter_events", std::to_string(poison.size())));
  REQUIRE(WaitForValue(url, "SELECT count(*) FROM processed_events WHERE consumer = 'webhook'",
                       std::to_string(valid.size())));
  CHECK(CountOf(url,
                "SELECT count(*) FROM outbox WHERE consumer = 'webhook' AND dead_at IS NULL") == 0);
  CheckDeadLettered(url, poison);

  const auto requests = receiver.Requests();
  CHECK(requests.size() == valid.size());
  for (const auto& request : requests) {
    const std::string event_id = request.Header("x-redrive-event-id");
    INFO("event ", event_id);
    REQUIRE(valid.count(event_id) == 1);
    CHECK(request.Header("x-redrive-signature") == SubscriberSignature(kSecret, request.body));
    const auto body = nlohmann::json::parse(request.body, nullptr, false);
    REQUIRE(body.is_object());
    CHECK(body.at("id") == event_id);
    // Compared as one bool: a failure must not print half a megabyte. The row is gone once
    // completed: compared with the payload as the row held it.
    const bool same_data =
        body.at("data") == nlohmann::json::parse(AsJsonb(url, valid.at(event_id)));
    CHECK(same_data);
  }
  CHECK(worker.process().Running());
  CHECK(HttpGet(worker.admin_port(), "/healthz").status == 200);
  CHECK(worker.Log().size() < 256 * 1024);
}
