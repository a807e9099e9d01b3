#include "tests/chaos/faults.hpp"

#include <signal.h>

#include <memory>
#include <pqxx/pqxx>
#include <vector>

#include "tests/support/process.hpp"
#include "tests/support/redrive_processes.hpp"

namespace redrive::chaos {

void KillAndRestart(testing::Service& service, std::chrono::milliseconds down) {
  service.Kill();
  testing::SleepFor(down);
  service.Start();
  service.WaitReady(std::chrono::seconds(20));
}

void Pause(testing::Service& service, std::chrono::milliseconds paused) {
  if (!service.Running()) return;
  ::kill(service.pid(), SIGSTOP);
  testing::SleepFor(paused);
  ::kill(service.pid(), SIGCONT);
}

void CrashDatabase(ChaosRun& run, std::chrono::milliseconds down) {
  run.system().cluster().StopImmediately();
  testing::SleepFor(down);
  run.system().cluster().StartAgain();
}

int TerminateListeners(ChaosRun& run) {
  return static_cast<int>(
      QueryCount(run.url(),
                 "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                 "WHERE query ILIKE 'LISTEN %' AND pid <> pg_backend_pid()"));
}

int ExhaustConnections(ChaosRun& run, std::chrono::milliseconds held) {
  // The workers log in as a superuser, so the hog does too: it takes the reserved slots as
  // well, and nobody can connect until it lets go.
  std::vector<std::unique_ptr<pqxx::connection>> hogs;
  const auto take_every_slot = [&] {
    while (hogs.size() < 2000) {
      try {
        hogs.push_back(std::make_unique<pqxx::connection>(run.url()));
      } catch (const std::exception&) {
        return;  // "too many clients": every slot is taken
      }
    }
  };
  take_every_slot();
  if (!hogs.empty()) {
    // Cut the workers' sessions so they must reconnect now, and take their slots at once.
    pqxx::nontransaction tx(*hogs.back());
    tx.exec(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name LIKE 'payment-%' OR application_name LIKE 'webhook-%'");
  }
  take_every_slot();
  testing::SleepFor(held);
  const int taken = static_cast<int>(hogs.size());
  hogs.clear();
  return taken;
}

LoopbackPartition::LoopbackPartition(int uid, int port) : uid_(uid), port_(port) {
  const auto added = testing::RunCommand(Rule("-I"));
  if (added.exit_code != 0) throw std::runtime_error("iptables: " + added.output);
}

LoopbackPartition::~LoopbackPartition() {
  testing::RunCommand(Rule("-D"));
}

std::vector<std::string> LoopbackPartition::Rule(const std::string& action) const {
  return {"/usr/sbin/iptables",
          action,
          "OUTPUT",
          "-o",
          "lo",
          "-p",
          "tcp",
          "--dport",
          std::to_string(port_),
          "-m",
          "owner",
          "--uid-owner",
          std::to_string(uid_),
          "-j",
          "DROP"};
}

int LeaderIndex(ChaosRun& run) {
  const std::string holder = testing::QueryValue(
      run.url(), "SELECT coalesce(holder, '') FROM controller_leases WHERE expires_at > now()");
  if (holder.rfind("controller-", 0) != 0) return -1;
  return std::stoi(holder.substr(11)) - 1;
}

}  // namespace redrive::chaos
