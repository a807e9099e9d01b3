#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "core/config/config.hpp"
#include "core/config/keys.hpp"

namespace redrive::config {
namespace {

const ConfigError* ErrorFor(const LoadResult& result, std::string_view key) {
  const auto found = std::find_if(result.errors.begin(), result.errors.end(),
                                  [key](const ConfigError& error) { return error.key == key; });
  return found == result.errors.end() ? nullptr : &*found;
}

std::string AllErrors(const std::vector<ConfigError>& errors) {
  std::string text;
  for (const ConfigError& error : errors) text += error.key + ": " + error.problem + "\n";
  return text;
}

TEST_CASE("an empty config and no environment give the documented defaults") {
  for (std::string_view yaml : {"", "# nothing set yet\n", "---\n", "worker:\n"}) {
    const LoadResult result = Load(yaml, {});
    REQUIRE_MESSAGE(result.ok(), AllErrors(result.errors));
    for (const Key& key : Keys()) {
      CHECK(FormatValue(key, result.config) == FormatValue(key, Config{}));
    }
  }
  const Config defaults = Load("", {}).config;
  CHECK(defaults.database.url == "postgresql://redrive@127.0.0.1:5432/redrive");
  CHECK(defaults.worker.lease_seconds == 30);
  CHECK(defaults.controller.lease_seconds == 15);
  CHECK(defaults.controller.dry_run == false);
}

TEST_CASE("config values in the YAML file land in the struct") {
  const LoadResult result = Load(R"(
database:
  url: postgres://app@db.internal/orders
  statement_timeout_ms: 0
admin:
  listen: "[::]:0"
log: {level: warn}
worker:
  concurrency: 64
  lease_seconds: "45"   # quoted numbers are numbers too
controller:
  dry_run: true
webhook:
  url: http://hooks.internal:8081/in
  secret: 12345
)",
                                 {});
  REQUIRE_MESSAGE(result.ok(), AllErrors(result.errors));
  CHECK(result.config.database.url == "postgres://app@db.internal/orders");
  CHECK(result.config.database.statement_timeout_ms == 0);
  CHECK(result.config.admin.listen == "[::]:0");
  CHECK(result.config.log.level == "warn");
  CHECK(result.config.worker.concurrency == 64);
  CHECK(result.config.worker.lease_seconds == 45);
  CHECK(result.config.controller.dry_run);
  CHECK(result.config.webhook.url == "http://hooks.internal:8081/in");
  CHECK(result.config.webhook.secret == "12345");
  CHECK(result.config.worker.batch_size == 16);  // untouched keys keep their defaults
}

TEST_CASE("every config key can be overridden by its REDRIVE_ environment variable") {
  for (const Key& key : Keys()) {
    CAPTURE(key.EnvVar());
    REQUIRE(key.example != FormatValue(key, Config{}));
    const LoadResult result = Load("", {{key.EnvVar(), std::string(key.example)}});
    REQUIRE_MESSAGE(result.ok(), AllErrors(result.errors));
    CHECK(FormatValue(key, result.config) == key.example);
  }
}

TEST_CASE("every config key can be set in YAML under its section") {
  for (const Key& key : Keys()) {
    CAPTURE(key.Path());
    const std::string yaml = std::string(key.section) + ":\n  " + std::string(key.name) + ": \"" +
                             std::string(key.example) + "\"\n";
    const LoadResult result = Load(yaml, {});
    REQUIRE_MESSAGE(result.ok(), AllErrors(result.errors));
    CHECK(FormatValue(key, result.config) == key.example);
  }
}

TEST_CASE("the config key table's examples are valid together and each key is declared once") {
  Environment env;
  for (const Key& key : Keys()) env[key.EnvVar()] = std::string(key.example);
  const LoadResult result = Load("", env);
  CHECK_MESSAGE(result.ok(), AllErrors(result.errors));
  for (const Key& key : Keys()) {
    CHECK(FindKey(key.Path()) == &key);
    CHECK(std::count_if(Keys().begin(), Keys().end(),
                        [&](const Key& other) { return other.EnvVar() == key.EnvVar(); }) == 1);
  }
}

TEST_CASE("a config environment variable beats the same key in the YAML file") {
  const LoadResult result =
      Load("worker:\n  concurrency: 4\n  batch_size: 8\n", {{"REDRIVE_WORKER_CONCURRENCY", "9"}});
  REQUIRE_MESSAGE(result.ok(), AllErrors(result.errors));
  CHECK(result.config.worker.concurrency == 9);
  CHECK(result.config.worker.batch_size == 8);
}

TEST_CASE("an unknown key or section in the config file is an error naming it") {
  const LoadResult result = Load(R"(
worker:
  concurency: 4
workers:
  batch_size: 8
)",
                                 {});
  CHECK(result.errors.size() == 2);
  const ConfigError* key = ErrorFor(result, "worker.concurency");
  REQUIRE(key != nullptr);
  CHECK(key->problem.find("unknown key") != std::string::npos);
  CHECK(key->problem.find("did you mean concurrency?") != std::string::npos);
  CHECK(key->problem.find("line 3") != std::string::npos);
  const ConfigError* section = ErrorFor(result, "workers");
  REQUIRE(section != nullptr);
  CHECK(section->problem.find("unknown section (did you mean worker?)") != std::string::npos);
}

TEST_CASE("a key given twice in the config file is an error, not a silent pick") {
  const LoadResult result = Load("worker:\n  concurrency: 4\n  concurrency: 5\n", {});
  const ConfigError* error = ErrorFor(result, "worker.concurrency");
  REQUIRE(error != nullptr);
  CHECK(error->problem.find("appears twice") != std::string::npos);
}

TEST_CASE("an unknown REDRIVE_WORKER_ variable is a config error naming the variable") {
  const LoadResult result =
      Load("", {{"REDRIVE_WORKER_FOO", "1"}, {"REDRIVE_WORKER_LEASE_SECOND", "1"}});
  REQUIRE(result.errors.size() == 2);
  const ConfigError* foo = ErrorFor(result, "REDRIVE_WORKER_FOO");
  REQUIRE(foo != nullptr);
  CHECK(foo->problem.find("unknown setting") != std::string::npos);
  const ConfigError* typo = ErrorFor(result, "REDRIVE_WORKER_LEASE_SECOND");
  REQUIRE(typo != nullptr);
  CHECK(typo->problem.find("did you mean REDRIVE_WORKER_LEASE_SECONDS?") != std::string::npos);
}

TEST_CASE("REDRIVE_ variables outside the config sections are ignored") {
  const LoadResult result = Load("", {{"REDRIVE_FAILPOINTS", "claim=error"},
                                      {"REDRIVE_TEST_PG_STATE", "/tmp/pg"},
                                      {"REDRIVE_LOG", "x"},
                                      {"HOME", "/root"}});
  CHECK_MESSAGE(result.ok(), AllErrors(result.errors));
}

TEST_CASE("a config value of the wrong type names the key and where it came from") {
  SUBCASE("an integer from the environment") {
    const LoadResult result = Load("", {{"REDRIVE_WORKER_LEASE_SECONDS", "abc"}});
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].key == "worker.lease_seconds");
    CHECK(result.errors[0].problem ==
          "REDRIVE_WORKER_LEASE_SECONDS: expected an integer, got \"abc\"");
    CHECK(result.config.worker.lease_seconds == 30);
  }
  SUBCASE("an integer in YAML") {
    const LoadResult result = Load("worker:\n  lease_seconds: 1.5\n", {});
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].key == "worker.lease_seconds");
    CHECK(result.errors[0].problem.starts_with("expected an integer, got \"1.5\""));
  }
  SUBCASE("a map where a scalar belongs") {
    const LoadResult result = Load("gateway:\n  url:\n    host: gw\n", {});
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].key == "gateway.url");
    CHECK(result.errors[0].problem.starts_with("expected a string, got a map"));
  }
  SUBCASE("a section that is not a map") {
    const LoadResult result = Load("worker: 5\n", {});
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].key == "worker");
  }
  SUBCASE("a key with no value") {
    const LoadResult result = Load("worker:\n  concurrency:\n", {});
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].key == "worker.concurrency");
  }
}

TEST_CASE("a config integer out of range names the key and the bound") {
  const LoadResult result =
      Load("database:\n  pool_size: 0\n", {{"REDRIVE_WORKER_CONCURRENCY", "5000"},
                                           {"REDRIVE_WORKER_BATCH_SIZE", "99999999999999999999"},
                                           {"REDRIVE_DATABASE_STATEMENT_TIMEOUT_MS", "-1"}});
  REQUIRE(result.errors.size() == 4);
  CHECK(ErrorFor(result, "database.pool_size")->problem == "must be at least 1, got 0 (line 2)");
  CHECK(ErrorFor(result, "worker.concurrency")->problem ==
        "REDRIVE_WORKER_CONCURRENCY: must be at most 1024, got 5000");
  CHECK(ErrorFor(result, "worker.batch_size")->problem.find("must be at most 1000") !=
        std::string::npos);
  CHECK(ErrorFor(result, "database.statement_timeout_ms")->problem.find("must be at least 0") !=
        std::string::npos);
  CHECK(Load("", {{"REDRIVE_DATABASE_STATEMENT_TIMEOUT_MS", "0"}}).ok());
}

TEST_CASE("a config log level outside debug, info, warn, error is rejected") {
  for (std::string_view level : {"debug", "info", "warn", "error"}) {
    CHECK(Load("", {{"REDRIVE_LOG_LEVEL", std::string(level)}}).ok());
  }
  const LoadResult result = Load("log:\n  level: verbose\n", {});
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].key == "log.level");
  CHECK(result.errors[0].problem == "must be one of debug, info, warn, error, got \"verbose\"");
  CHECK_FALSE(Load("", {{"REDRIVE_LOG_LEVEL", "INFO"}}).ok());
}

TEST_CASE("config dry_run accepts true, false, 1 and 0 and nothing else") {
  CHECK(Load("", {{"REDRIVE_CONTROLLER_DRY_RUN", "1"}}).config.controller.dry_run);
  CHECK(Load("", {{"REDRIVE_CONTROLLER_DRY_RUN", "true"}}).config.controller.dry_run);
  CHECK_FALSE(Load("controller: {dry_run: true}", {{"REDRIVE_CONTROLLER_DRY_RUN", "0"}})
                  .config.controller.dry_run);
  CHECK_FALSE(Load("controller: {dry_run: false}", {}).config.controller.dry_run);
  const LoadResult result = Load("", {{"REDRIVE_CONTROLLER_DRY_RUN", "maybe"}});
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].key == "controller.dry_run");
  CHECK(result.errors[0].problem.find("expected true or false") != std::string::npos);
}

TEST_CASE("every config error is reported at once") {
  const LoadResult result =
      Load(R"(
worker:
  concurrency: lots
  bogus: 1
log:
  level: loud
)",
           {{"REDRIVE_ADMIN_LISTEN", "nowhere"}, {"REDRIVE_GATEWAY_TIMEOUT_MS", "0"}});
  CHECK_MESSAGE(result.errors.size() == 5, AllErrors(result.errors));
  for (std::string_view key :
       {"worker.concurrency", "worker.bogus", "log.level", "admin.listen", "gateway.timeout_ms"}) {
    CHECK_MESSAGE(ErrorFor(result, key) != nullptr, key);
  }
}

TEST_CASE("a bad config value in YAML is still reported when the environment overrides it") {
  const LoadResult result =
      Load("worker:\n  concurrency: lots\n", {{"REDRIVE_WORKER_CONCURRENCY", "7"}});
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].key == "worker.concurrency");
  CHECK(result.config.worker.concurrency == 7);
}

TEST_CASE("the config controller lease must outlast its renew deadline, which outlasts the retry") {
  SUBCASE("renew deadline equal to the lease names the renew deadline") {
    const LoadResult result = Load("", {{"REDRIVE_CONTROLLER_LEASE_RENEW_DEADLINE_SECONDS", "15"}});
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].key == "controller.lease_renew_deadline_seconds");
    CHECK(result.errors[0].problem ==
          "REDRIVE_CONTROLLER_LEASE_RENEW_DEADLINE_SECONDS: must be less than "
          "controller.lease_seconds (15), got 15");
  }
  SUBCASE("a lease shortened below the renew deadline names the lease") {
    const LoadResult result = Load("controller:\n  lease_seconds: 8\n", {});
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].key == "controller.lease_seconds");
    CHECK(result.errors[0].problem ==
          "must be greater than controller.lease_renew_deadline_seconds (10), got 8");
  }
  SUBCASE("retry period not below the renew deadline names the retry period") {
    const LoadResult result = Load("controller:\n  lease_retry_seconds: 10\n", {});
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].key == "controller.lease_retry_seconds");
  }
  SUBCASE("a consistent change of all three is fine") {
    CHECK(Load("controller: {lease_seconds: 60, lease_renew_deadline_seconds: 40, "
               "lease_retry_seconds: 5}",
               {})
              .ok());
  }
}

TEST_CASE("config backoff_max_ms below backoff_base_ms names the key that was changed") {
  const LoadResult lowered_max = Load("worker: {backoff_max_ms: 100}", {});
  REQUIRE(lowered_max.errors.size() == 1);
  CHECK(lowered_max.errors[0].key == "worker.backoff_max_ms");
  CHECK(lowered_max.errors[0].problem ==
        "must be greater than or equal to worker.backoff_base_ms (500), got 100");
  const LoadResult raised_base = Load("worker: {backoff_base_ms: 400000}", {});
  REQUIRE(raised_base.errors.size() == 1);
  CHECK(raised_base.errors[0].key == "worker.backoff_base_ms");
  CHECK(Load("worker: {backoff_base_ms: 700, backoff_max_ms: 700}", {}).ok());
}

TEST_CASE("malformed config YAML gives an error, not an exception") {
  for (std::string_view yaml :
       {"worker: [1, 2\n", "worker:\n  concurrency: 1\n concurrency: 2\n", "\"unterminated\n",
        "a: b\n---\nc: d\n", "- just\n- a list\n", "worker: {concurrency: *nope}\n"}) {
    CAPTURE(yaml);
    LoadResult result;
    REQUIRE_NOTHROW(result = Load(yaml, {}));
    REQUIRE_FALSE(result.ok());
    CHECK(result.errors[0].key == "config file");
  }
}

TEST_CASE("config admin.listen accepts HOST:PORT with port 0 and rejects the rest") {
  for (std::string_view good : {"0.0.0.0:9464", "127.0.0.1:0", "localhost:65535", "[::1]:9464"}) {
    CHECK_MESSAGE(Load("", {{"REDRIVE_ADMIN_LISTEN", std::string(good)}}).ok(), good);
  }
  for (std::string_view bad :
       {"9464", ":9464", "0.0.0.0:", "0.0.0.0:65536", "0.0.0.0:http", "host name:1", "[::1]9464"}) {
    const LoadResult result = Load("", {{"REDRIVE_ADMIN_LISTEN", std::string(bad)}});
    CHECK_MESSAGE(ErrorFor(result, "admin.listen") != nullptr, bad);
  }
}

TEST_CASE("config URLs for the gateway and webhooks must be plain http") {
  for (std::string_view good :
       {"http://gw", "http://gw:8080", "http://10.0.0.1:80/v1/x?y=1", "http://[::1]:8080/"}) {
    CHECK_MESSAGE(Load("", {{"REDRIVE_GATEWAY_URL", std::string(good)}}).ok(), good);
  }
  const LoadResult https = Load("", {{"REDRIVE_GATEWAY_URL", "https://gw.example.com"}});
  REQUIRE(https.errors.size() == 1);
  CHECK(https.errors[0].key == "gateway.url");
  CHECK(https.errors[0].problem.find("https is not supported yet") != std::string::npos);
  for (std::string_view bad : {"", "gw:8080", "http://", "http://gw:0", "http://gw:99999",
                               "http://user:pw@gw", "http://gw /x", "ftp://gw"}) {
    CHECK_MESSAGE(
        ErrorFor(Load("", {{"REDRIVE_GATEWAY_URL", std::string(bad)}}), "gateway.url") != nullptr,
        bad);
  }
  CHECK(Load("", {{"REDRIVE_WEBHOOK_URL", ""}}).ok());  // empty: delivery disabled
  CHECK(ErrorFor(Load("", {{"REDRIVE_WEBHOOK_URL", "https://hooks"}}), "webhook.url") != nullptr);
}

TEST_CASE("config database.url accepts postgres URIs and libpq key=value strings") {
  for (std::string_view good :
       {"postgresql://redrive@127.0.0.1:5432/redrive", "postgres://u:p@h/db?sslmode=require",
        "postgresql://", "host=db dbname=orders", "host = db password='it\\'s' port=5432",
        "dbname=orders"}) {
    CHECK_MESSAGE(Load("", {{"REDRIVE_DATABASE_URL", std::string(good)}}).ok(), good);
  }
  for (std::string_view bad :
       {"", "mysql://u@h/db", "orders", "host=db garbage", "host='db", "=db"}) {
    CHECK_MESSAGE(
        ErrorFor(Load("", {{"REDRIVE_DATABASE_URL", std::string(bad)}}), "database.url") != nullptr,
        bad);
  }
}

TEST_CASE("config::Validate checks a config built in code") {
  CHECK(Validate(Config{}).empty());
  Config config;
  config.worker.concurrency = 0;
  config.log.level = "trace";
  config.controller.lease_retry_seconds = 30;
  const std::vector<ConfigError> errors = Validate(config);
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].key == "log.level");
  CHECK(errors[1].key == "worker.concurrency");
  CHECK(errors[1].problem == "must be at least 1, got 0");
  CHECK(errors[2].key == "controller.lease_retry_seconds");
}

}  // namespace
}  // namespace redrive::config
