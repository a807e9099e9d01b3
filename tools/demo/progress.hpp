#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pqxx {
class connection_base;
}

namespace redrive::demo {

struct BacklogRow {
  std::string consumer;
  std::int64_t pending = 0;
  double oldest_age_seconds = 0;
};

struct ProcessRow {
  std::string name;
  int pid = -1;
  bool running = false;
  int admin_port = 0;
  double breaker_state = -1;  // payment workers: 0 closed, 1 half-open, 2 open; -1 n/a
  double inflight = -1;       // workers: events in flight; -1 n/a
};

// One refresh of the live view.
struct Progress {
  double elapsed_seconds = 0;
  double duration_seconds = 0;
  std::string phase;  // "placing orders", "settling", ...
  std::int64_t placed = 0;
  std::int64_t place_errors = 0;
  std::map<std::string, std::int64_t> orders_by_state;
  double settled_per_second = 0;  // PAID + FAILED, over the last refresh
  std::vector<BacklogRow> backlog;
  std::map<std::string, std::int64_t> redrives_by_rule;  // applied controller actions
  std::int64_t open_dead_letters = 0;
  std::string leader;  // holder of the controller lease, "" when nobody holds it
  std::int64_t leader_epoch = 0;
  std::vector<ProcessRow> processes;
  std::int64_t webhooks_received = 0;
  std::vector<std::string> recent_events;  // what the demo did, newest last
  std::string database_error;              // why the database figures are missing
};

// Fills the database part of `progress` (orders, backlog, re-drives, dead letters, leader).
// On error, leaves those fields as they were and sets database_error.
void ReadDatabaseProgress(pqxx::connection_base& connection, Progress& progress);

// The live view: plain text lines, no terminal control codes.
std::string RenderProgress(const Progress& progress);

// How many orders are neither settled nor waiting for a human, and how many outbox rows are
// pending: the demo has settled when both are zero.
std::int64_t OpenWork(const Progress& progress);

}  // namespace redrive::demo
