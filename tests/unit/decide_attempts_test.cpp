#include <doctest/doctest.h>

#include "core/decide/attempts.hpp"

namespace redrive::decide {
namespace {

TEST_CASE("a failed attempt before the last one is retried") {
  const FailureDecision first = RetryOrDeadLetter(1, 5);
  CHECK(first.action == FailureAction::kRetry);
  CHECK(first.reason == "retry");
  CHECK(RetryOrDeadLetter(4, 5).action == FailureAction::kRetry);
}

TEST_CASE("the failure of attempt max_attempts dead-letters the event with max_attempts") {
  const FailureDecision last = RetryOrDeadLetter(5, 5);
  CHECK(last.action == FailureAction::kDeadLetter);
  CHECK(last.reason == "max_attempts");
  CHECK(RetryOrDeadLetter(6, 5).action == FailureAction::kDeadLetter);
}

TEST_CASE("max_attempts of one or less never retries") {
  CHECK(RetryOrDeadLetter(1, 1).action == FailureAction::kDeadLetter);
  CHECK(RetryOrDeadLetter(1, 0).action == FailureAction::kDeadLetter);
  CHECK(RetryOrDeadLetter(1, -3).action == FailureAction::kDeadLetter);
}

}  // namespace
}  // namespace redrive::decide
