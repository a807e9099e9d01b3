#pragma once

#include <chrono>

namespace redrive::decide {

// Whether an idempotency key first sent `charge_request_age` ago may be reused. Past
// `key_retention` (controller.key_retention_seconds) the gateway may have forgotten the key,
// and a charge under it could be a second, real charge: nobody may send it again, and only a
// human, after asking the gateway, decides (NEEDS_REVIEW). Equal is already too old. The
// worker and the controller both judge with this, by the database's clock.
constexpr bool KeyRetentionExpired(std::chrono::duration<double> charge_request_age,
                                   std::chrono::seconds key_retention) {
  return charge_request_age >= key_retention;
}

}  // namespace redrive::decide
