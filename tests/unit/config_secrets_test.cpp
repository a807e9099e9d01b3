#include <doctest/doctest.h>

#include <string>

#include "core/config/config.hpp"

namespace redrive::config {
namespace {

constexpr std::string_view kPassword = "hunter2";

std::string AllErrors(const LoadResult& result) {
  std::string text;
  for (const ConfigError& error : result.errors) text += error.key + ": " + error.problem + "\n";
  return text;
}

TEST_CASE("config::RedactSecrets masks passwords in URIs, query strings and key=value strings") {
  CHECK(RedactSecrets("postgresql://user:secret@host/db") == "postgresql://user:***@host/db");
  CHECK(RedactSecrets("postgres://u:p%40ss@h1:5432,h2:5432/db?sslmode=require") ==
        "postgres://u:***@h1:5432,h2:5432/db?sslmode=require");
  CHECK(RedactSecrets("postgresql://h/db?sslmode=require&password=secret&x=1") ==
        "postgresql://h/db?sslmode=require&password=***&x=1");
  CHECK(RedactSecrets("host=h password=secret dbname=d") == "host=h password=*** dbname=d");
  CHECK(RedactSecrets("host=h password = 'se cret\\'s' dbname=d") ==
        "host=h password = *** dbname=d");
  CHECK(RedactSecrets("host=h sslpassword=secret") == "host=h sslpassword=***");
  CHECK(RedactSecrets("host=h PASSWORD='unterminated secret") == "host=h PASSWORD=***");
  SUBCASE("text without secrets is left alone") {
    for (std::string_view text :
         {"postgresql://redrive@127.0.0.1:5432/redrive", "host=h dbname=d passfile=/x",
          "FATAL:  password authentication failed for user \"redrive\"", "", "http://gw:8080/"}) {
      CHECK(RedactSecrets(text) == text);
    }
  }
  SUBCASE("unencoded separators in a password do not leak its tail") {
    for (std::string_view url : {"postgresql://u:hun/ter2@h/db", "postgresql://u:hu@nter2@h/db",
                                 "postgresql://u:hun?ter2@h/db"}) {
      CAPTURE(url);
      const std::string redacted = RedactSecrets(url);
      CHECK(redacted.find("ter2") == std::string::npos);
      CHECK(redacted.ends_with("@h/db"));
    }
  }
  SUBCASE("a URI inside a longer message, e.g. from libpq") {
    CHECK(RedactSecrets("cannot connect to \"postgresql://app:secret@db/x\": timeout") ==
          "cannot connect to \"postgresql://app:***@db/x\": timeout");
  }
}

TEST_CASE("the database password never appears in a config error") {
  const std::string password(kPassword);
  for (const std::string& url :
       {"mysql://app:" + password + "@db/orders", "host=db password='" + password,
        "host=db password=" + password + " junk", "postgresql:/app:" + password + "@db",
        "app:" + password + "@db"}) {
    CAPTURE(RedactSecrets(url));
    const LoadResult from_env = Load("", {{"REDRIVE_DATABASE_URL", url}});
    const LoadResult from_yaml = Load("database:\n  url: \"" + url + "\"\n", {});
    for (const LoadResult* result : {&from_env, &from_yaml}) {
      REQUIRE_FALSE(result->ok());
      CHECK(result->errors[0].key == "database.url");
      CHECK(AllErrors(*result).find(password) == std::string::npos);
    }
  }
  const LoadResult as_map = Load("database:\n  url: {user: app, password: hunter2}\n", {});
  REQUIRE_FALSE(as_map.ok());
  CHECK(AllErrors(as_map).find(password) == std::string::npos);
}

TEST_CASE("the webhook secret never appears in any config message") {
  const std::string secret(kPassword);
  const LoadResult result =
      Load("webhook:\n  secret: [" + secret + "]\n", {{"REDRIVE_WEBHOOK_SECRETS", secret},
                                                      {"REDRIVE_WEBHOOK_SECRET_KEY", secret},
                                                      {"REDRIVE_WORKER_FOO", secret}});
  CHECK(result.errors.size() == 4);
  CHECK(AllErrors(result).find(secret) == std::string::npos);
  const LoadResult valid = Load("", {{"REDRIVE_WEBHOOK_SECRET", secret}});
  CHECK(valid.ok());
  CHECK(valid.config.webhook.secret == secret);
}

}  // namespace
}  // namespace redrive::config
