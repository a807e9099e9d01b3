#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace redrive::testing {

// Path of a binary built by this tree (build/bin/NAME).
std::string BinaryPath(const std::string& name);

struct ProcessOptions {
  std::map<std::string, std::string> env;  // added to (or replacing in) the test's environment
  std::optional<std::string> stdout_path;  // default: inherit
  std::optional<std::string> stderr_path;  // default: inherit
  // Its own process group, so a Ctrl-C meant for the parent (the demo) does not reach it.
  bool own_process_group = false;
};

// A child process the test started; only ever signalled by its own pid. The destructor
// kills (SIGKILL) and reaps it if it is still running, so a failed assertion leaks nothing.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const ProcessOptions& options = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int signal) const;
  // Waits for exit; returns the exit status (128 + signal when killed), or nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  bool Running();

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr, interleaved
};

// Runs a command to completion, capturing its output. Throws when it cannot be started or
// does not finish within the timeout.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Polls `condition` until it holds or the timeout passes. Tests of real processes have to
// wait for them; this is the one place that does, and it returns false instead of hanging.
template <typename Condition>
bool WaitUntil(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(20));

void SleepFor(std::chrono::milliseconds duration);
std::chrono::steady_clock::time_point RealNow();

template <typename Condition>
bool WaitUntil(Condition condition, std::chrono::milliseconds timeout) {
  const auto deadline = RealNow() + timeout;
  while (true) {
    if (condition()) return true;
    if (RealNow() >= deadline) return false;
    SleepFor(std::chrono::milliseconds(20));
  }
}

// Reads a whole file ("" when missing).
std::string ReadFile(const std::string& path);
// Creates a fresh directory under /tmp; the caller removes it.
std::string MakeTempDir(const std::string& prefix);
// A TCP port on 127.0.0.1 that was free a moment ago.
int FreeLoopbackPort();

}  // namespace redrive::testing
