#include "core/decide/webhook_reply.hpp"

#include <utility>

namespace redrive::decide {

DeliveryDecision ClassifyWebhookReply(int http_status, bool transport_error) {
  if (transport_error) return {.outcome = DeliveryOutcome::kRetry, .reason = "transport_error"};
  std::string reason = "subscriber_" + std::to_string(http_status);
  if (http_status >= 200 && http_status <= 299) {
    return {.outcome = DeliveryOutcome::kDelivered, .reason = "delivered"};
  }
  const bool retryable_client_error = http_status == 408 || http_status == 429;
  if (http_status >= 400 && http_status <= 499 && !retryable_client_error) {
    return {.outcome = DeliveryOutcome::kDeadLetter, .reason = std::move(reason)};
  }
  return {.outcome = DeliveryOutcome::kRetry, .reason = std::move(reason)};
}

}  // namespace redrive::decide
