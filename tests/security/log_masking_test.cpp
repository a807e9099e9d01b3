// Logs never show card numbers or secrets: real workers dead-letter events that carry
// them, and their logs say what happened with the digits and the secrets masked.
//
// What a worker logs about an event: its ids, its type, and for a failure the reason and an
// error text. Payloads are never logged; the event type is (it is free text in the outbox,
// and the dead-letter line echoes it twice), so that is where hostile content reaches a log.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "tests/support/invariants.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/redrive_processes.hpp"
#include "tests/support/webhook_receiver.hpp"

namespace {

using namespace redrive::testing;
using namespace std::chrono_literals;

constexpr const char* kDatabasePassword = "db-pw-Zq8xK2";
constexpr const char* kWebhookSecret = "whsec_security_test_9f8e7d";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void InsertEvent(const std::string& url, const std::string& consumer, const std::string& event_type,
                 const std::string& payload) {
  Execute(url,
          "INSERT INTO outbox (event_id, consumer, event_type, payload) VALUES "
          "(gen_random_uuid(), '" +
              consumer + "', '" + event_type + "', '" + payload + "')");
}

}  // namespace

TEST_CASE(
    "security: workers dead-lettering events full of card numbers and secrets never "
    "write them to their logs") {
  MigratedDatabase database;
  const std::string url = database.Url();
  // The password is part of the url the workers use (trust authentication ignores it), so
  // it is a configured secret exactly as in production.
  const std::string url_with_password = "postgresql://redrive:" + std::string(kDatabasePassword) +
                                        "@127.0.0.1:" + std::to_string(SharedCluster().port()) +
                                        "/" + database.name();
  WebhookReceiver receiver;
  const std::map<std::string, std::string> env = {{"REDRIVE_LOG_LEVEL", "debug"},
                                                  {"REDRIVE_WEBHOOK_URL", receiver.Url()},
                                                  {"REDRIVE_WEBHOOK_SECRET", kWebhookSecret}};
  WorkerProcess payment(url_with_password, "payment", env);
  WorkerProcess webhook(url_with_password, "webhook", env);
  REQUIRE(payment.WaitReady());
  REQUIRE(webhook.WaitReady());

  const std::string order = PlaceOrder(url, 1000);  // a real order id for the payloads
  InsertEvent(url, "payment", "OrderCreated for card 4111 1111 1111 1111",
              "{\"order_id\": \"" + order + "\", \"card\": \"4111111111111111\"}");
  InsertEvent(url, "payment", "OrderCreated/5555-5555-5555-4444",
              "{\"order_id\": \"5555-5555-5555-4444\", \"cvv\": \"123\"}");
  InsertEvent(url, "payment",
              "OrderCreated with " + std::string(kDatabasePassword) + " and " + kWebhookSecret,
              "{\"order_id\": \"" + order + "\"}");
  InsertEvent(url, "webhook", "PaymentSucceeded 378282246310005",
              "{\"pan\": \"3782 822463 10005\"}");
  InsertEvent(url, "payment", "OrderCreated", "{\"order_id\": \"4111-1111-1111-1111\"}");
  CHECK(WaitForValue(url, "SELECT count(*) FROM dead_letter_events", "5"));

  const std::vector<std::string> secrets = {kDatabasePassword, kWebhookSecret};
  const std::vector<std::string> card_numbers = {
      "4111 1111 1111 1111", "4111111111111111",  "5555-5555-5555-4444", "5555555555554444",
      "378282246310005",     "3782 822463 10005", "4111-1111-1111-1111"};
  // A worker logs the dead letter after its row is committed: wait for the last line.
  const auto dead_letter_lines = [&] {
    int count = 0;
    for (const std::string& line : Lines(payment.Log() + webhook.Log())) {
      if (line.find("event dead-lettered") != std::string::npos) ++count;
    }
    return count;
  };
  // The lines were written, masked, not dropped: each dead letter is in a log.
  CHECK(WaitUntil([&] { return dead_letter_lines() == 5; }));

  const std::string logs = payment.Log() + webhook.Log();
  for (const std::string& line : Lines(logs)) {
    CAPTURE(line);
    CHECK_FALSE(LeaksSecret(line, secrets));
    for (const std::string& number : card_numbers) CHECK(line.find(number) == std::string::npos);
  }
  // The type each dead letter echoes still shows where the digits and the secrets were.
  CHECK(logs.find("OrderCreated for card **** **** **** ****") != std::string::npos);
  CHECK(logs.find("OrderCreated/****-****-****-****") != std::string::npos);
  CHECK(logs.find("OrderCreated with *** and ***") != std::string::npos);
  CHECK(logs.find("PaymentSucceeded ***************") != std::string::npos);
  // The database keeps the evidence as it was: masking is for logs, not for the record.
  CHECK(QueryValue(url,
                   "SELECT count(*) FROM dead_letter_events WHERE event_type LIKE "
                   "'%4111 1111 1111 1111%'") == "1");
}
