#include "tests/support/run_observations.hpp"

#include <fstream>
#include <pqxx/pqxx>
#include <set>

namespace redrive::testing {
namespace {

constexpr const char* kOrders = "SELECT id::text, state FROM orders ORDER BY created_at";

// Settlement events queued, whether still live in the outbox or already consumed (a completed
// event leaves the outbox; its processed_events row keeps its order and type).
constexpr const char* kSettledTwice = R"sql(
SELECT aggregate_id::text FROM (
  SELECT event_id, aggregate_id FROM outbox
  WHERE consumer = 'webhook' AND event_type IN ('PaymentSucceeded', 'PaymentFailed')
  UNION
  SELECT event_id, aggregate_id FROM processed_events
  WHERE consumer = 'webhook' AND event_type IN ('PaymentSucceeded', 'PaymentFailed')
) settlements
GROUP BY aggregate_id HAVING count(*) > 1
)sql";

constexpr const char* kPendingOutbox = "SELECT count(*) FROM outbox WHERE dead_at IS NULL";

constexpr const char* kDeadLettersWithoutReason =
    "SELECT count(*) FROM dead_letter_events WHERE coalesce(reason, '') = '' OR attempts < 1";

// An applied change must have moved the version forward, and the order must not have gone
// back below it since.
constexpr const char* kAuditRowsWithBadVersions = R"sql(
SELECT count(*)
FROM redrive_log l JOIN orders o ON o.id = l.order_id
WHERE l.outcome = 'applied' AND l.version_before IS NOT NULL AND l.version_after IS NOT NULL
  AND (l.version_after <= l.version_before OR o.version < l.version_after)
)sql";

std::int64_t Count(pqxx::nontransaction& tx, const char* sql) {
  return tx.exec1(sql)[0].as<std::int64_t>();
}

void ScanLog(const std::string& path, const std::vector<std::string>& secrets,
             RunObservations& run) {
  std::ifstream file(path);
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    if (!LeaksSecret(line, secrets)) continue;
    if (run.log_lines_with_secrets++ == 0) {
      run.first_secret_leak = path + ":" + std::to_string(number);
    }
  }
}

}  // namespace

RunObservations Observe(const EvidenceSources& sources) {
  RunObservations run;
  run.backlog_threshold = sources.backlog_threshold;

  pqxx::connection connection(sources.database_url);
  pqxx::nontransaction tx(connection);
  std::set<std::string> known;
  for (const auto& row : tx.exec(kOrders)) {
    ObservedOrder order{.id = row[0].as<std::string>(), .state = row[1].as<std::string>()};
    const auto ledger = sources.ledger_orders.find(order.id);
    if (ledger != sources.ledger_orders.end()) order.captures = ledger->at("captures").get<int>();
    known.insert(order.id);
    run.orders.push_back(std::move(order));
  }
  for (const auto& [id, entry] : sources.ledger_orders.items()) {
    if (!known.contains(id) && entry.at("captures").get<int>() > 0) {
      run.captures_of_unknown_orders.push_back(id);
    }
  }
  for (const auto& row : tx.exec(kSettledTwice)) {
    run.orders_settled_twice.push_back(row[0].as<std::string>());
  }
  run.pending_outbox_rows = Count(tx, kPendingOutbox);
  run.backlog = run.pending_outbox_rows;
  run.dead_letters_without_reason = Count(tx, kDeadLettersWithoutReason);
  run.audit_rows_with_bad_versions = Count(tx, kAuditRowsWithBadVersions);

  for (const auto& path : sources.log_paths) ScanLog(path, sources.secrets, run);
  return run;
}

}  // namespace redrive::testing
