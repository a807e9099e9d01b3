#include "core/decide/charge_reply.hpp"

#include <string>
#include <utility>

namespace redrive::decide {
namespace {

ChargeDecision Retry(std::string reason, bool gateway_failure) {
  return {.outcome = ChargeOutcome::kRetry,
          .reason = std::move(reason),
          .gateway_failure = gateway_failure};
}

ChargeDecision Poison(std::string reason) {
  // The gateway answered sensibly; refusing one request is not a sign of ill health.
  return {.outcome = ChargeOutcome::kPoison, .reason = std::move(reason), .gateway_failure = false};
}

}  // namespace

ChargeDecision ClassifyChargeReply(int http_status, std::optional<std::string_view> charge_status,
                                   bool transport_error) {
  if (transport_error) return Retry("transport_error", true);

  if (http_status >= 200 && http_status <= 299) {
    if (charge_status == "succeeded") {
      return {.outcome = ChargeOutcome::kPaid, .reason = "succeeded", .gateway_failure = false};
    }
    if (charge_status == "declined") {
      return {.outcome = ChargeOutcome::kDeclined, .reason = "declined", .gateway_failure = false};
    }
    return Retry("gateway_bad_reply", true);
  }
  if (http_status >= 500 && http_status <= 599) {
    return Retry("gateway_" + std::to_string(http_status), true);
  }
  switch (http_status) {
    case 408:
      return Retry("gateway_timeout", true);
    case 409:
      return Retry("gateway_in_flight", false);
    case 429:
      return Retry("gateway_rate_limited", true);
    case 401:
    case 403:
      return Retry("gateway_auth_" + std::to_string(http_status), true);
    case 422:
      return Poison("idempotency_conflict");
    default:
      break;
  }
  if (http_status >= 400 && http_status <= 499) {
    return Poison("gateway_rejected_" + std::to_string(http_status));
  }
  return Retry("gateway_unexpected_status_" + std::to_string(http_status), true);
}

}  // namespace redrive::decide
