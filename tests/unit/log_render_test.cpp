#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/runtime/log.hpp"

using namespace redrive::log;

TEST_CASE("a log line is one JSON object with time, level, component, message and ids") {
  const std::string line = Render(
      "2026-11-21T10:00:00.000Z", Level::kWarn, "worker", "payment settled",
      {{"order_id", "6f1c1f8e-4a55-4d59-9f59-3a8f6f0c0a01"}, {"attempts", 3}, {"dry_run", false}});
  CHECK(line.find('\n') == std::string::npos);
  const auto json = nlohmann::json::parse(line);
  CHECK(json["time"] == "2026-11-21T10:00:00.000Z");
  CHECK(json["level"] == "warn");
  CHECK(json["component"] == "worker");
  CHECK(json["message"] == "payment settled");
  CHECK(json["order_id"] == "6f1c1f8e-4a55-4d59-9f59-3a8f6f0c0a01");
  CHECK(json["attempts"] == 3);
  CHECK(json["dry_run"] == false);
}

TEST_CASE("log lines escape quotes and newlines and survive invalid UTF-8") {
  const std::string line = Render("t", Level::kError, "c", "bad \"input\"\nsecond line",
                                  {{"raw", std::string("\xff\xfe")}});
  CHECK(line.find('\n') == std::string::npos);
  const auto json = nlohmann::json::parse(line);
  CHECK(json["message"] == "bad \"input\"\nsecond line");
}

TEST_CASE("log levels parse from their names only") {
  Level level = Level::kInfo;
  CHECK(ParseLevel("debug", level));
  CHECK(level == Level::kDebug);
  CHECK_FALSE(ParseLevel("DEBUG", level));
  CHECK_FALSE(ParseLevel("verbose", level));
  CHECK(level == Level::kDebug);
}
