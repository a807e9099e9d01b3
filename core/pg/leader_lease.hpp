#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "core/pg/fence.hpp"

namespace pqxx {
class connection_base;
}

// Leader election on a lease row, judged entirely by the database's clock.
namespace redrive::pg {

struct LeaseState {
  bool held = false;       // by the caller, after this call
  std::int64_t epoch = 0;  // the caller's epoch when held
  std::string holder;      // whoever holds it now ("" when free)
};

// Takes the lease when it is free or expired (epoch + 1: a takeover), or renews it when the
// caller already holds it at `current_epoch`. One statement, so two contenders cannot both
// win.
LeaseState AcquireOrRenew(pqxx::connection_base& connection, const std::string& lease_name,
                          const std::string& holder, std::optional<std::int64_t> current_epoch,
                          std::chrono::seconds lease_duration);

// Gives the lease up (SIGTERM) so a standby takes over at once instead of waiting for it to
// expire. A no-op unless the caller still holds it at that epoch.
void ReleaseLease(pqxx::connection_base& connection, const Fence& fence);

}  // namespace redrive::pg

namespace redrive::pg {

struct CycleStart {
  std::string cycle_id;  // a fresh uuid for the audit rows of one cycle
  double now_epoch = 0;  // the database's now(), unix seconds
};

// Durable time and ids come from the database, never from a pod's clock.
CycleStart BeginCycle(pqxx::connection_base& connection);

}  // namespace redrive::pg
