// Every log line is masked: known secrets and card-number-shaped digit runs never reach it.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config/config.hpp"
#include "core/runtime/log.hpp"

namespace {

using namespace redrive::log;

// `prefix` followed by the digit that makes it pass the Luhn check.
std::string WithLuhnDigit(const std::string& prefix) {
  for (char check = '0'; check <= '9'; ++check) {
    const std::string candidate = prefix + check;
    int sum = 0;
    bool twice = false;
    for (auto it = candidate.rbegin(); it != candidate.rend(); ++it) {
      int digit = *it - '0';
      if (twice) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
      sum += digit;
      twice = !twice;
    }
    if (sum % 10 == 0) return candidate;
  }
  return "";
}

// Captures what Write emits, and leaves the log as it found it.
struct CapturedLog {
  std::vector<std::string> lines;
  CapturedLog() {
    SetSinkForTesting([this](std::string_view line) { lines.emplace_back(line); });
  }
  ~CapturedLog() {
    SetSinkForTesting(nullptr);
    SetSecrets({});
  }
};

}  // namespace

TEST_CASE("card numbers are masked however they are grouped") {
  CHECK(Mask("card 4111111111111111 declined") == "card **************** declined");
  CHECK(Mask("card 4111 1111 1111 1111.") == "card **** **** **** ****.");
  CHECK(Mask("card 4111-1111-1111-1111") == "card ****-****-****-****");
  CHECK(Mask("amex 3782 822463 10005") == "amex **** ****** *****");          // 15 digits
  CHECK(Mask("diners 30569309025904") == "diners **************");            // 14 digits
  CHECK(Mask("visa13 4222222222222") == "visa13 *************");              // 13 digits
  const std::string nineteen = WithLuhnDigit("620000000000000000");           // 19 digits
  CHECK(Mask("unionpay " + nineteen) == "unionpay " + std::string(19, '*'));  // 19 digits
  CHECK(Mask("{\"pan\":\"5555555555554444\"}") == "{\"pan\":\"****************\"}");
  CHECK(Mask("tok4111111111111111x") == "tok****************x");  // glued to letters: still
}

TEST_CASE("a card number inside a longer digit sequence is masked, its neighbours are not") {
  CHECK(Mask("qty 2 4111 1111 1111 1111") == "qty 2 **** **** **** ****");
  CHECK(Mask("4111 1111 1111 1111 7") == "**** **** **** **** 7");
}

TEST_CASE("digit runs that are not card numbers are left alone") {
  CHECK(Mask("4111111111111112") == "4111111111111112");  // fails Luhn
  const std::string twelve = WithLuhnDigit("12345678901");
  CHECK(Mask(twelve) == twelve);  // passes Luhn, too short
  const std::string twenty = WithLuhnDigit("4111111111111111111");
  CHECK(Mask(twenty) == twenty);  // passes Luhn, too long to be a card
  // Event and order ids: a UUID whose digit groups happen to pass Luhn (4111111111111111).
  CHECK(Mask("event 41111111-1111-1111-1111-111111111111 done") ==
        "event 41111111-1111-1111-1111-111111111111 done");
  CHECK(Mask("2026-11-21T10:00:00.000Z outbox_id=1234567 amount=1999") ==
        "2026-11-21T10:00:00.000Z outbox_id=1234567 amount=1999");
}

TEST_CASE("known secrets are masked, longest first, and very short ones are not") {
  const std::vector<std::string> secrets = {"hunter22", "hunter22-and-more", "abc", ""};
  CHECK(Mask("password hunter22-and-more, again hunter22!", secrets) == "password ***, again ***!");
  CHECK(Mask("abc stays", secrets) == "abc stays");
  // A secret made of digits is masked as a secret before the card check looks at it.
  const std::vector<std::string> digits = {"98765432"};
  CHECK(Mask("pin 98765432", digits) == "pin ***");
}

TEST_CASE("a rendered line masks the message, every key and every value, and stays JSON") {
  const std::vector<std::string> secrets = {"s3cr\"t\\pw", "whsec_live_123"};
  const std::string line = Render(
      "2026-11-21T10:00:00.000Z", Level::kError, "worker", "charge of 4111 1111 1111 1111 failed",
      {{"error", "auth failed for s3cr\"t\\pw"},
       {"payload", "{\"card\":\"4111-1111-1111-1111\",\"key\":\"whsec_live_123\"}"},
       {"outbox_id", std::int64_t{4111111111111111}},
       {"amount", 1999},
       {"ratio", 4222222222222.0},
       {"whsec_live_123", true}},
      secrets);
  INFO(line);
  const auto json = nlohmann::json::parse(line);  // still one valid JSON object
  CHECK(json["message"] == "charge of **** **** **** **** failed");
  CHECK(json["error"] == "auth failed for ***");
  CHECK(json["payload"] == "{\"card\":\"****-****-****-****\",\"key\":\"***\"}");
  CHECK(json["outbox_id"] == "****************");  // a number that needed masking: a string
  CHECK(json["amount"] == 1999);                   // numbers that do not stay numbers
  CHECK(json["ratio"] == "*************.0");
  CHECK(json.contains("***"));
  CHECK(line.find("4111") == std::string::npos);
  CHECK(line.find("whsec_live_123") == std::string::npos);
  CHECK(line.find("s3cr") == std::string::npos);
}

TEST_CASE("Write masks the secrets registered with SetSecrets") {
  CapturedLog log;
  SetSecrets({"db-password-1", "webhook-secret-1"});
  Error("could not connect",
        {{"error", "password db-password-1 rejected"}, {"secret", "webhook-secret-1"}});
  SetSecrets({});
  Error("after", {{"error", "db-password-1"}});
  REQUIRE(log.lines.size() == 2);
  CHECK(log.lines[0].find("db-password-1") == std::string::npos);
  CHECK(log.lines[0].find("webhook-secret-1") == std::string::npos);
  CHECK(log.lines[0].find("password *** rejected") != std::string::npos);
  CHECK(log.lines[1].find("db-password-1") != std::string::npos);  // the set was replaced
}

TEST_CASE("the secrets of a configuration are the database password and the webhook secret") {
  using redrive::config::Config;
  using redrive::config::SecretValues;
  const auto has = [](const std::vector<std::string>& values, const std::string& value) {
    return std::find(values.begin(), values.end(), value) != values.end();
  };
  Config config;
  config.database.url = "postgresql://redrive:p%40ss-word@db:5432/redrive?sslpassword=keypass1";
  config.webhook.secret = "whsec_test_1";
  auto secrets = SecretValues(config);
  CHECK(has(secrets, "p%40ss-word"));  // as written
  CHECK(has(secrets, "p@ss-word"));    // as libpq sends it
  CHECK(has(secrets, "keypass1"));
  CHECK(has(secrets, "whsec_test_1"));

  config.database.url = "host=db user=redrive password='it\\'s a secret' dbname=redrive";
  config.webhook.secret = "";
  secrets = SecretValues(config);
  CHECK(has(secrets, "it's a secret"));

  config.database.url = "postgresql://redrive@db/redrive?password=q-secret&sslmode=require";
  secrets = SecretValues(config);
  CHECK(has(secrets, "q-secret"));
  CHECK_FALSE(has(secrets, "require"));

  config.database.url = "postgresql://redrive@db/redrive";
  CHECK(SecretValues(config).empty());
}

TEST_CASE("LoadOrExit registers the configuration's secrets with the log") {
  CapturedLog log;
  ::setenv("REDRIVE_DATABASE_URL", "postgresql://redrive:env-db-secret@db/redrive", 1);
  ::setenv("REDRIVE_WEBHOOK_SECRET", "env-webhook-secret", 1);
  const auto config = redrive::config::LoadOrExit(std::nullopt);
  ::unsetenv("REDRIVE_DATABASE_URL");
  ::unsetenv("REDRIVE_WEBHOOK_SECRET");
  Info("echo", {{"url_password", "env-db-secret"}, {"webhook", "env-webhook-secret"}});
  REQUIRE(log.lines.size() == 1);
  CHECK(log.lines[0].find("env-db-secret") == std::string::npos);
  CHECK(log.lines[0].find("env-webhook-secret") == std::string::npos);
}
