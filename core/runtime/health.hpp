#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "core/domain/clock.hpp"

namespace redrive::runtime {

// What the admin server's probes report. Pure and thread-safe: the process's loops write
// it, the admin server's thread reads it, and nothing here does I/O.
//
// Liveness and readiness answer different questions (STYLE.md rule 9): liveness is "my own
// loop still turns" and never depends on the database, so a database outage makes a pod
// unready (traffic and claims move elsewhere) but never gets it restarted in a loop.
class Health {
 public:
  Health(const Clock& clock, std::chrono::seconds liveness_timeout);
  Health(const Health&) = delete;
  Health& operator=(const Health&) = delete;

  // Called by the process's main loop on every turn, however idle.
  void Beat();
  // True when the last beat (or construction) is at most liveness_timeout ago.
  bool Live() const;

  // Registers or updates a component ("database", "gateway", ...). A component that has
  // never been set does not exist; one set to false keeps readiness false until set true.
  void SetReady(const std::string& component, bool ready, const std::string& reason = "");
  // SIGTERM: readiness goes false for good, so the Service stops routing to us while
  // in-flight work drains. There is no way back: a draining process is about to exit.
  void SetDraining();
  bool Draining() const;

  struct Readiness {
    bool ready;
    // Empty when ready; otherwise "draining", or the failing components in name order:
    // "database: connection refused; gateway: not ready".
    std::string detail;
  };
  Readiness Ready() const;

 private:
  struct Component {
    bool ready = false;
    std::string reason;
  };

  const Clock& clock_;
  const std::chrono::seconds liveness_timeout_;
  mutable std::mutex mutex_;  // guards everything below
  Clock::TimePoint last_beat_;
  bool draining_ = false;
  std::map<std::string, Component> components_;
};

}  // namespace redrive::runtime
