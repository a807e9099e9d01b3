#include "tests/support/invariants.hpp"

#include <doctest/doctest.h>

namespace {

using redrive::testing::CheckInvariants;
using redrive::testing::InvariantResult;
using redrive::testing::LeaksSecret;
using redrive::testing::ObservedOrder;
using redrive::testing::RunObservations;

const InvariantResult& Find(const std::vector<InvariantResult>& results, const std::string& id) {
  for (const auto& result : results) {
    if (result.id == id) return result;
  }
  FAIL("no result " << id);
  return results.front();
}

RunObservations HealthyRun() {
  RunObservations run;
  run.orders = {{.id = "a", .state = "PAID", .captures = 1},
                {.id = "b", .state = "FAILED", .captures = 0},
                {.id = "c", .state = "NEEDS_REVIEW", .captures = 1}};
  run.backlog_threshold = 10;
  return run;
}

}  // namespace

TEST_CASE("a healthy run keeps all eight invariants, in order") {
  const auto results = CheckInvariants(HealthyRun());
  REQUIRE(results.size() == 8);
  for (std::size_t i = 0; i < results.size(); ++i) {
    CHECK(results[i].id == "I" + std::to_string(i + 1));
    CHECK_MESSAGE(results[i].held, results[i].id << ": " << results[i].detail);
  }
}

TEST_CASE("an order left in PAYMENT_PENDING breaks I1 and is named") {
  auto run = HealthyRun();
  run.orders.push_back({.id = "stuck", .state = "PAYMENT_PENDING", .captures = 0});
  const auto results = CheckInvariants(run);
  const auto& i1 = Find(results, "I1");
  CHECK_FALSE(i1.held);
  CHECK(i1.detail == "1 unsettled (stuck PAYMENT_PENDING)");
}

TEST_CASE("two captures of one order break I2 and I3") {
  auto run = HealthyRun();
  run.orders[0].captures = 2;
  const auto results = CheckInvariants(run);
  CHECK_FALSE(Find(results, "I2").held);
  CHECK(Find(results, "I2").detail == "1 doubled (a x2)");
  CHECK_FALSE(Find(results, "I3").held);
}

TEST_CASE("a second settlement event for one order breaks I2") {
  auto run = HealthyRun();
  run.orders_settled_twice = {"b"};
  const auto results = CheckInvariants(run);
  CHECK_FALSE(Find(results, "I2").held);
  CHECK(Find(results, "I2").detail == "1 doubled (b settled twice)");
}

TEST_CASE("I3 catches PAID without a capture, FAILED with one and captures of unknown orders") {
  auto run = HealthyRun();
  run.orders[0].captures = 0;
  run.orders[1].captures = 1;
  run.captures_of_unknown_orders = {"ghost"};
  const auto results = CheckInvariants(run);
  const auto& i3 = Find(results, "I3");
  CHECK_FALSE(i3.held);
  CHECK(i3.detail ==
        "3 disagreements (a PAID, not captured, b FAILED, captured, ghost unknown, captured)");
}

TEST_CASE("a long list of offenders is cut to the first three") {
  RunObservations run;
  for (int i = 0; i < 5; ++i) {
    run.orders.push_back({.id = std::to_string(i), .state = "CREATED", .captures = 0});
  }
  const auto results = CheckInvariants(run);
  CHECK(Find(results, "I1").detail == "5 unsettled (first: 0 CREATED, 1 CREATED, 2 CREATED)");
}

TEST_CASE("pending rows, bare dead letters, bad versions, backlog and leaks each break theirs") {
  auto run = HealthyRun();
  run.pending_outbox_rows = 2;
  run.dead_letters_without_reason = 1;
  run.audit_rows_with_bad_versions = 1;
  run.backlog = 11;
  run.log_lines_with_secrets = 1;
  run.first_secret_leak = "worker.log:7";
  const auto results = CheckInvariants(run);
  for (const std::string id : {"I4", "I5", "I6", "I7", "I8"}) {
    CHECK_MESSAGE(!Find(results, id).held, id);
  }
  CHECK(Find(results, "I8").detail == "1 lines (first at worker.log:7)");
  CHECK(Find(results, "I1").held);
}

TEST_CASE("LeaksSecret finds secrets and card-shaped numbers but not ids or timestamps") {
  const std::vector<std::string> secrets = {"whsec_abc", ""};
  CHECK(LeaksSecret(R"({"msg":"signing with whsec_abc"})", secrets));
  CHECK(LeaksSecret("card 4111111111111111 declined", secrets));        // Luhn-valid, 16 digits
  CHECK_FALSE(LeaksSecret("card 4111111111111112 declined", secrets));  // fails Luhn
  CHECK_FALSE(LeaksSecret("outbox 1234567 at 2026-11-22T01:02:03.456Z", secrets));
  CHECK_FALSE(LeaksSecret("", secrets));  // the empty secret matches nothing
  CHECK(LeaksSecret("5500005555555559", {}));
}
