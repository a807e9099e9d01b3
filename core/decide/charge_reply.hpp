#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace redrive::decide {

enum class ChargeOutcome {
  kPaid,      // record PAID
  kDeclined,  // record FAILED
  kRetry,     // release the claim with backoff (NextDelay), same idempotency key next time
  kPoison,    // dead-letter the event with `reason`; never retried automatically
};

struct ChargeDecision {
  ChargeOutcome outcome;
  // Always set; bounded vocabulary, safe as a metric label and as
  // outbox.last_error / dead_letter_events.reason:
  //   succeeded, declined, transport_error, gateway_<5xx status>, gateway_in_flight,
  //   gateway_rate_limited, gateway_timeout, gateway_auth_<401|403>, gateway_bad_reply,
  //   gateway_unexpected_status_<status>, idempotency_conflict, gateway_rejected_<4xx status>
  std::string reason;
  // Whether the reply is evidence that the gateway is unhealthy; feed it to the circuit
  // breaker (RecordFailure when true, RecordSuccess otherwise).
  bool gateway_failure = false;
};

// Classifies the reply to POST /v1/charges (DESIGN.md "Gateway contract").
//
//  - transport_error (connect failure, timeout, connection dropped: the charge may or may
//    not have happened) -> retry; the same key makes the retry safe. http_status is ignored.
//  - 2xx with charge_status "succeeded" -> paid; "declined" -> declined. Any other body
//    (missing, unknown status) is retried as "gateway_bad_reply": a garbled reply says
//    nothing about the EVENT, which is fine, so it must not be dead-lettered as poison.
//  - 5xx -> retry (gateway_<status>). The gateway may have charged before failing; the key
//    settles it on the next attempt.
//  - 409 -> retry: a request with the same key is still in flight at the gateway (a
//    duplicate delivery of our own); its result will be returned to the retry.
//  - 429 -> retry, honouring Retry-After (the caller parses it for NextDelay).
//  - 408 -> retry: the gateway timed out reading our request; nothing wrong with the event.
//  - 401, 403 -> retry, counted as gateway failures: bad credentials are a deployment
//    problem that affects every event alike, so the breaker should open and stop the
//    consumer rather than dead-letter the whole backlog.
//  - 422 -> poison "idempotency_conflict": the same key was used with a different body,
//    i.e. our bug or an order whose amount changed after the first charge. A human must
//    look; retrying can never succeed.
//  - other 4xx -> poison "gateway_rejected_<status>": the gateway refuses this request.
//  - anything else (1xx, 3xx, out of range) -> retry as gateway_unexpected_status_<status>,
//    a gateway failure: likely misconfiguration, bounded by max_attempts.
ChargeDecision ClassifyChargeReply(int http_status, std::optional<std::string_view> charge_status,
                                   bool transport_error);

}  // namespace redrive::decide
