#include "core/decide/attempts.hpp"

#include <algorithm>

namespace redrive::decide {

FailureDecision RetryOrDeadLetter(int attempts, int max_attempts) {
  if (attempts >= std::max(max_attempts, 1)) {
    return {.action = FailureAction::kDeadLetter, .reason = "max_attempts"};
  }
  return {.action = FailureAction::kRetry, .reason = "retry"};
}

}  // namespace redrive::decide
