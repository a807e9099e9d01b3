#include "tools/demo/progress.hpp"

#include <cstdio>
#include <pqxx/pqxx>
#include <sstream>

namespace redrive::demo {
namespace {

// The demo database is small: plain counts are fine here (the controller's own scans are
// the index-served ones).
constexpr const char* kOrdersByState = "SELECT state, count(*) FROM orders GROUP BY state";

constexpr const char* kBacklog = R"sql(
SELECT consumer, count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8
FROM outbox WHERE dead_at IS NULL
GROUP BY consumer ORDER BY consumer
)sql";

constexpr const char* kRedrives = R"sql(
SELECT rule, count(*) FROM redrive_log WHERE outcome = 'applied' GROUP BY rule ORDER BY rule
)sql";

constexpr const char* kOpenDeadLetters =
    "SELECT count(*) FROM dead_letter_events WHERE replayed_at IS NULL AND discarded_at IS NULL";

constexpr const char* kLeader = R"sql(
SELECT coalesce(holder, ''), epoch FROM controller_leases
WHERE expires_at > now() ORDER BY name LIMIT 1
)sql";

const char* const kStates[] = {"CREATED", "PAYMENT_PENDING", "PAID", "FAILED", "NEEDS_REVIEW"};

std::string Format(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

std::string BreakerName(double state) {
  if (state == 0) return "closed";
  if (state == 1) return "half-open";
  if (state == 2) return "OPEN";
  return "-";
}

std::int64_t StateCount(const Progress& progress, const std::string& state) {
  const auto found = progress.orders_by_state.find(state);
  return found == progress.orders_by_state.end() ? 0 : found->second;
}

}  // namespace

void ReadDatabaseProgress(pqxx::connection_base& connection, Progress& progress) {
  try {
    pqxx::read_transaction tx(connection, "demo_progress");
    std::map<std::string, std::int64_t> orders;
    for (const auto& row : tx.exec(kOrdersByState)) {
      orders[row[0].as<std::string>()] = row[1].as<std::int64_t>();
    }
    std::vector<BacklogRow> backlog;
    for (const auto& row : tx.exec(kBacklog)) {
      backlog.push_back({.consumer = row[0].as<std::string>(),
                         .pending = row[1].as<std::int64_t>(),
                         .oldest_age_seconds = row[2].as<double>()});
    }
    std::map<std::string, std::int64_t> redrives;
    for (const auto& row : tx.exec(kRedrives)) {
      redrives[row[0].as<std::string>()] = row[1].as<std::int64_t>();
    }
    const auto dead = tx.exec1(kOpenDeadLetters)[0].as<std::int64_t>();
    const auto leader = tx.exec(kLeader);
    tx.commit();

    progress.orders_by_state = std::move(orders);
    progress.backlog = std::move(backlog);
    progress.redrives_by_rule = std::move(redrives);
    progress.open_dead_letters = dead;
    progress.leader = leader.empty() ? "" : leader[0][0].as<std::string>();
    progress.leader_epoch = leader.empty() ? 0 : leader[0][1].as<std::int64_t>();
    progress.database_error.clear();
  } catch (const std::exception& error) {
    progress.database_error = error.what();
  }
}

std::int64_t OpenWork(const Progress& progress) {
  std::int64_t open = StateCount(progress, "CREATED") + StateCount(progress, "PAYMENT_PENDING");
  for (const auto& row : progress.backlog) open += row.pending;
  return open;
}

std::string RenderProgress(const Progress& progress) {
  std::ostringstream out;
  out << "redrive demo  " << Format("%.0f", progress.elapsed_seconds) << "s / "
      << Format("%.0f", progress.duration_seconds) << "s  " << progress.phase << "\n\n";

  out << "orders     placed " << progress.placed;
  if (progress.place_errors > 0) out << " (" << progress.place_errors << " inserts failed)";
  out << "   settling " << Format("%.1f", progress.settled_per_second) << "/s\n";
  out << "          ";
  for (const char* state : kStates) out << " " << state << " " << StateCount(progress, state);
  out << "\n";

  out << "backlog   ";
  if (progress.backlog.empty()) out << " empty";
  for (const auto& row : progress.backlog) {
    out << " " << row.consumer << " " << row.pending << " (oldest "
        << Format("%.1f", row.oldest_age_seconds) << "s)";
  }
  out << "\n";

  out << "re-drives ";
  if (progress.redrives_by_rule.empty()) out << " none yet";
  for (const auto& [rule, count] : progress.redrives_by_rule) out << " " << rule << " " << count;
  out << "\n";
  out << "dead letters " << progress.open_dead_letters << "   NEEDS_REVIEW "
      << StateCount(progress, "NEEDS_REVIEW") << "   webhooks delivered "
      << progress.webhooks_received << "\n";
  out << "leader     "
      << (progress.leader.empty()
              ? "none"
              : progress.leader + " (epoch " + std::to_string(progress.leader_epoch) + ")")
      << "\n\n";

  for (const auto& process : progress.processes) {
    char line[160];
    std::snprintf(line, sizeof line, "  %-13s %-8s pid %-7d :%-5d", process.name.c_str(),
                  process.running ? "running" : "DOWN", process.pid, process.admin_port);
    out << line;
    if (process.inflight >= 0) out << "  in flight " << Format("%.0f", process.inflight);
    if (process.breaker_state >= 0) out << "  breaker " << BreakerName(process.breaker_state);
    out << "\n";
  }
  if (!progress.database_error.empty()) out << "\n  database: " << progress.database_error;
  if (!progress.recent_events.empty()) out << "\n";
  for (const auto& event : progress.recent_events) out << "  " << event << "\n";
  return out.str();
}

}  // namespace redrive::demo
