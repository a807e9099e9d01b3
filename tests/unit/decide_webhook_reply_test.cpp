#include <doctest/doctest.h>

#include "core/decide/webhook_reply.hpp"

namespace redrive::decide {
namespace {

TEST_CASE("any 2xx from the subscriber delivers the webhook") {
  for (const int status : {200, 202, 204, 299}) {
    const DeliveryDecision decision = ClassifyWebhookReply(status, false);
    CHECK(decision.outcome == DeliveryOutcome::kDelivered);
    CHECK(decision.reason == "delivered");
  }
}

TEST_CASE("transport errors, 408, 429 and 5xx are retried") {
  CHECK(ClassifyWebhookReply(200, true).outcome == DeliveryOutcome::kRetry);
  CHECK(ClassifyWebhookReply(0, true).reason == "transport_error");
  for (const int status : {408, 429, 500, 503, 599}) {
    const DeliveryDecision decision = ClassifyWebhookReply(status, false);
    CHECK(decision.outcome == DeliveryOutcome::kRetry);
    CHECK(decision.reason == "subscriber_" + std::to_string(status));
  }
}

TEST_CASE("other 4xx replies dead-letter the webhook with the status as reason") {
  for (const int status : {400, 401, 404, 410, 422, 499}) {
    const DeliveryDecision decision = ClassifyWebhookReply(status, false);
    CHECK(decision.outcome == DeliveryOutcome::kDeadLetter);
    CHECK(decision.reason == "subscriber_" + std::to_string(status));
  }
}

TEST_CASE("redirects and informational replies are retried, not followed") {
  CHECK(ClassifyWebhookReply(301, false).outcome == DeliveryOutcome::kRetry);
  CHECK(ClassifyWebhookReply(100, false).outcome == DeliveryOutcome::kRetry);
}

}  // namespace
}  // namespace redrive::decide
