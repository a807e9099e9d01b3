#include <doctest/doctest.h>

#include "core/decide/charge_reply.hpp"

namespace redrive::decide {
namespace {

TEST_CASE("a 200 succeeded reply marks the order paid") {
  const ChargeDecision decision = ClassifyChargeReply(200, "succeeded", false);
  CHECK(decision.outcome == ChargeOutcome::kPaid);
  CHECK(decision.reason == "succeeded");
  CHECK_FALSE(decision.gateway_failure);
}

TEST_CASE("a 200 declined reply marks the order failed") {
  const ChargeDecision decision = ClassifyChargeReply(200, "declined", false);
  CHECK(decision.outcome == ChargeOutcome::kDeclined);
  CHECK(decision.reason == "declined");
  CHECK_FALSE(decision.gateway_failure);
}

TEST_CASE("a 200 with a missing or unknown charge status is retried, not poison") {
  for (const auto status :
       {std::optional<std::string_view>{}, std::optional<std::string_view>{"pending"},
        std::optional<std::string_view>{"SUCCEEDED"}}) {
    const ChargeDecision decision = ClassifyChargeReply(200, status, false);
    CHECK(decision.outcome == ChargeOutcome::kRetry);
    CHECK(decision.reason == "gateway_bad_reply");
    CHECK(decision.gateway_failure);
  }
}

TEST_CASE("a transport error is retried whatever status was recorded") {
  const ChargeDecision decision = ClassifyChargeReply(200, "succeeded", true);
  CHECK(decision.outcome == ChargeOutcome::kRetry);
  CHECK(decision.reason == "transport_error");
  CHECK(decision.gateway_failure);
}

TEST_CASE("5xx replies are retried and count against the breaker") {
  for (const int status : {500, 502, 503, 599}) {
    const ChargeDecision decision = ClassifyChargeReply(status, std::nullopt, false);
    CHECK(decision.outcome == ChargeOutcome::kRetry);
    CHECK(decision.reason == "gateway_" + std::to_string(status));
    CHECK(decision.gateway_failure);
  }
}

TEST_CASE("409 in flight is retried without blaming the gateway") {
  const ChargeDecision decision = ClassifyChargeReply(409, std::nullopt, false);
  CHECK(decision.outcome == ChargeOutcome::kRetry);
  CHECK(decision.reason == "gateway_in_flight");
  CHECK_FALSE(decision.gateway_failure);
}

TEST_CASE("429, 408, 401 and 403 are retried as gateway failures") {
  CHECK(ClassifyChargeReply(429, std::nullopt, false).reason == "gateway_rate_limited");
  CHECK(ClassifyChargeReply(408, std::nullopt, false).reason == "gateway_timeout");
  CHECK(ClassifyChargeReply(401, std::nullopt, false).reason == "gateway_auth_401");
  CHECK(ClassifyChargeReply(403, std::nullopt, false).reason == "gateway_auth_403");
  for (const int status : {429, 408, 401, 403}) {
    const ChargeDecision decision = ClassifyChargeReply(status, std::nullopt, false);
    CHECK(decision.outcome == ChargeOutcome::kRetry);
    CHECK(decision.gateway_failure);
  }
}

TEST_CASE("422 means the key was reused with another body and is poison") {
  const ChargeDecision decision = ClassifyChargeReply(422, std::nullopt, false);
  CHECK(decision.outcome == ChargeOutcome::kPoison);
  CHECK(decision.reason == "idempotency_conflict");
  CHECK_FALSE(decision.gateway_failure);
}

TEST_CASE("other 4xx replies are poison named after their status") {
  for (const int status : {400, 404, 410, 499}) {
    const ChargeDecision decision = ClassifyChargeReply(status, std::nullopt, false);
    CHECK(decision.outcome == ChargeOutcome::kPoison);
    CHECK(decision.reason == "gateway_rejected_" + std::to_string(status));
    CHECK_FALSE(decision.gateway_failure);
  }
}

TEST_CASE("unexpected statuses such as redirects are retried as gateway failures") {
  for (const int status : {100, 302, 0, 600}) {
    const ChargeDecision decision = ClassifyChargeReply(status, "succeeded", false);
    CHECK(decision.outcome == ChargeOutcome::kRetry);
    CHECK(decision.reason == "gateway_unexpected_status_" + std::to_string(status));
    CHECK(decision.gateway_failure);
  }
}

}  // namespace
}  // namespace redrive::decide
