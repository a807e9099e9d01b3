#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "tests/chaos/chaos_system.hpp"

// The faults the reliability suite injects, each a blocking action that returns once the
// fault has healed (or, for Kill, once the process is gone). Scenarios use them one at a
// time; the soak runner strings random ones together.
namespace redrive::chaos {

// SIGKILL, then start it again after `down`.
void KillAndRestart(testing::Service& service, std::chrono::milliseconds down);
// SIGSTOP for `paused`, then SIGCONT: a process that froze (a long GC, a stalled node).
void Pause(testing::Service& service, std::chrono::milliseconds paused);
// pg_ctl stop -m immediate (a crash: no checkpoint, every client cut), then start again.
void CrashDatabase(ChaosRun& run, std::chrono::milliseconds down);
// pg_terminate_backend on every session that last ran LISTEN: the workers' wake-up lines.
int TerminateListeners(ChaosRun& run);
// Takes every free connection slot for `held`, and cuts the workers' sessions so that they
// must reconnect while none is free.
int ExhaustConnections(ChaosRun& run, std::chrono::milliseconds held);
// A partition between the processes of one uid and a TCP port on 127.0.0.1: an iptables
// rule drops their packets to it (no reset, no error: the peer just goes silent) until the
// object dies. Needs root.
class LoopbackPartition {
 public:
  LoopbackPartition(int uid, int port);
  ~LoopbackPartition();
  LoopbackPartition(const LoopbackPartition&) = delete;
  LoopbackPartition& operator=(const LoopbackPartition&) = delete;

 private:
  std::vector<std::string> Rule(const std::string& action) const;
  int uid_;
  int port_;
};

// The index (into LocalSystem::controller) of the controller holding the lease, or -1.
int LeaderIndex(ChaosRun& run);

}  // namespace redrive::chaos
