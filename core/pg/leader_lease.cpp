#include "core/pg/leader_lease.hpp"

#include <pqxx/pqxx>

namespace redrive::pg {
namespace {

// Renewal keeps the epoch; a takeover (free or expired lease) bumps it, which fences every
// write the previous holder may still attempt.
constexpr const char* kAcquireOrRenew = R"sql(
UPDATE controller_leases
SET holder = $2,
    epoch = CASE WHEN holder = $2 AND epoch = $3 THEN epoch ELSE epoch + 1 END,
    acquired_at = CASE WHEN holder = $2 AND epoch = $3 THEN acquired_at ELSE now() END,
    renewed_at = now(),
    expires_at = now() + make_interval(secs => $4)
WHERE name = $1
  AND ((holder = $2 AND epoch = $3) OR holder IS NULL OR expires_at <= now())
RETURNING epoch
)sql";

constexpr const char* kCurrentHolder = R"sql(
SELECT coalesce(holder, '') FROM controller_leases WHERE name = $1 AND expires_at > now()
)sql";

constexpr const char* kRelease = R"sql(
UPDATE controller_leases SET holder = NULL, expires_at = '-infinity'
WHERE name = $1 AND holder = $2 AND epoch = $3
)sql";

}  // namespace

LeaseState AcquireOrRenew(pqxx::connection_base& connection, const std::string& lease_name,
                          const std::string& holder, std::optional<std::int64_t> current_epoch,
                          std::chrono::seconds lease_duration) {
  pqxx::work tx(connection, "lease");
  // The lease row exists from the first migration; other names are created on demand.
  tx.exec_params("INSERT INTO controller_leases (name) VALUES ($1) ON CONFLICT DO NOTHING",
                 lease_name);
  const pqxx::result taken =
      tx.exec_params(kAcquireOrRenew, lease_name, holder, current_epoch.value_or(-1),
                     static_cast<double>(lease_duration.count()));
  LeaseState state;
  if (!taken.empty()) {
    state.held = true;
    state.epoch = taken[0][0].as<std::int64_t>();
    state.holder = holder;
  } else {
    const pqxx::result current = tx.exec_params(kCurrentHolder, lease_name);
    if (!current.empty()) state.holder = current[0][0].as<std::string>();
  }
  tx.commit();
  return state;
}

void ReleaseLease(pqxx::connection_base& connection, const Fence& fence) {
  pqxx::work tx(connection, "release_lease");
  tx.exec_params(kRelease, fence.lease_name, fence.holder, fence.epoch);
  tx.commit();
}

}  // namespace redrive::pg

namespace redrive::pg {

CycleStart BeginCycle(pqxx::connection_base& connection) {
  pqxx::nontransaction tx(connection, "begin_cycle");
  const pqxx::row row =
      tx.exec1("SELECT gen_random_uuid()::text, extract(epoch FROM now())::float8");
  return {.cycle_id = row[0].as<std::string>(), .now_epoch = row[1].as<double>()};
}

}  // namespace redrive::pg
