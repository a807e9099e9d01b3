#include <doctest/doctest.h>

#include "core/runtime/failpoints.hpp"

using namespace redrive::runtime;

TEST_CASE("failpoints parse abort, error and sleep actions by name") {
  const auto spec = ParseFailpoints("after_claim=abort, before_settle_commit=sleep(250),x=error");
  CHECK(spec.errors.empty());
  REQUIRE(spec.actions.size() == 3);
  CHECK(std::holds_alternative<FailpointAbort>(spec.actions.at("after_claim")));
  CHECK(std::holds_alternative<FailpointError>(spec.actions.at("x")));
  const auto* sleep = std::get_if<FailpointSleep>(&spec.actions.at("before_settle_commit"));
  REQUIRE(sleep != nullptr);
  CHECK(sleep->duration == std::chrono::milliseconds(250));
}

TEST_CASE("malformed failpoint entries are reported one by one and the rest still parse") {
  const auto spec = ParseFailpoints("a=explode,b,=abort,c=sleep(-1),d=sleep(1x),ok=abort");
  CHECK(spec.errors.size() == 5);
  CHECK(spec.actions.size() == 1);
  CHECK(spec.actions.count("ok") == 1);
}

TEST_CASE("an empty failpoint setting configures nothing") {
  const auto spec = ParseFailpoints("");
  CHECK(spec.actions.empty());
  CHECK(spec.errors.empty());
}
