#include <doctest/doctest.h>

#include <sstream>

#include "cli/flags.hpp"
#include "cli/output.hpp"

using namespace redrive::cli;

TEST_CASE("a text table pads every column to its widest cell") {
  std::ostringstream out;
  PrintTable(out, {"CONSUMER", "PENDING"}, {{"payment", "12"}, {"webhook", "0"}});
  CHECK(out.str() ==
        "CONSUMER  PENDING\n"
        "payment   12\n"
        "webhook   0\n");
}

TEST_CASE("durations print in the two largest units") {
  CHECK(HumanDuration(42) == "42s");
  CHECK(HumanDuration(192) == "3m12s");
  CHECK(HumanDuration(7500) == "2h05m");
  CHECK(HumanDuration(356400) == "4d03h");
  CHECK(HumanDuration(-5) == "0s");
}

TEST_CASE("command-line durations accept s, m, h, d or plain seconds") {
  CHECK(ParseDurationSeconds("90") == 90);
  CHECK(ParseDurationSeconds("90s") == 90);
  CHECK(ParseDurationSeconds("5m") == 300);
  CHECK(ParseDurationSeconds("2h") == 7200);
  CHECK(ParseDurationSeconds("1d") == 86400);
  CHECK_FALSE(ParseDurationSeconds("").has_value());
  CHECK_FALSE(ParseDurationSeconds("5 minutes").has_value());
  CHECK_FALSE(ParseDurationSeconds("-5m").has_value());
}

TEST_CASE("an operator is recorded under the name given, or the OS user") {
  CHECK(OperatorActor(std::string("alice")) == "operator:alice");
  CHECK(OperatorActor(std::nullopt).rfind("operator:", 0) == 0);
  CHECK(OperatorActor(std::nullopt).size() > std::string("operator:").size());
}
