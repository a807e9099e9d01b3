#pragma once

#include <string>

namespace redrive::decide {

enum class DeliveryOutcome {
  kDelivered,   // complete the event
  kRetry,       // release the claim with backoff (NextDelay; honour Retry-After on 429/503)
  kDeadLetter,  // dead-letter with `reason`
};

struct DeliveryDecision {
  DeliveryOutcome outcome;
  // "delivered", "transport_error" or "subscriber_<status>"; safe as a metric label.
  std::string reason;
};

// Classifies a subscriber's reply to a webhook POST:
//  - 2xx -> delivered.
//  - transport error or timeout, 408, 429, 5xx -> retry: the subscriber may recover.
//  - any other 4xx -> dead-letter "subscriber_<status>": the subscriber rejects this
//    delivery (bad signature, gone endpoint) and repeating it cannot help.
//  - anything else (1xx, 3xx: redirects are not followed) -> retry, bounded by
//    max_attempts, since it is more likely a transient misconfiguration than bad data.
DeliveryDecision ClassifyWebhookReply(int http_status, bool transport_error);

}  // namespace redrive::decide
