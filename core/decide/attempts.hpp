#pragma once

#include <string>

namespace redrive::decide {

enum class FailureAction { kRetry, kDeadLetter };

struct FailureDecision {
  FailureAction action;
  // "retry" or "max_attempts" (the dead_letter_events.reason and the metric label).
  std::string reason;
};

// What to do with an event whose attempt just failed transiently (or whose worker died:
// the controller's lease recovery asks the same question).
//
// `attempts` is outbox.attempts, which counts claims INCLUDING the current one (the claim
// statement increments it), so it is >= 1 here. With max_attempts = 5, attempts 1..4
// retry and the failure of attempt 5 dead-letters: the event is tried exactly
// max_attempts times. A max_attempts below 1 is treated as 1 (never retry); configuration
// validation should reject it before it gets here.
FailureDecision RetryOrDeadLetter(int attempts, int max_attempts);

}  // namespace redrive::decide
