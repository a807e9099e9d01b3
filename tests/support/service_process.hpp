#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace redrive::testing {

// One redrive process of the demo (a worker or a controller): its admin server on a fixed
// loopback port and its log in the demo folder, so it can be killed and started again on
// the same port and Prometheus keeps scraping it.
class Service {
 public:
  Service(std::string name, std::vector<std::string> argv, std::map<std::string, std::string> env,
          std::string log_path);

  const std::string& name() const { return name_; }
  int admin_port() const { return admin_port_; }
  const std::string& log_path() const { return log_path_; }
  std::string MetricsUrl() const;
  int pid() const;
  bool Running() const;

  // Take effect at the next Start(): an environment variable (nullopt removes it), and a
  // launcher the binary runs under, which must exec it in place so the pid stays the
  // binary's (setpriv does; faketime does not).
  void SetEnv(const std::string& key, std::optional<std::string> value);
  void SetLauncher(std::vector<std::string> launcher) { launcher_ = std::move(launcher); }

  void Start();
  // Waits for /readyz 200; false on timeout or when the process died.
  bool WaitReady(std::chrono::milliseconds timeout);
  // The value of one /metrics series, or -1 when absent or unreachable.
  double Metric(const std::string& series) const;
  // SIGKILL, as a crashed pod: nothing is drained, nothing released.
  void Kill();
  // SIGTERM, then waits for the drain; SIGKILL after `grace`. Returns the exit status.
  int Stop(std::chrono::milliseconds grace);

 private:
  std::string name_;
  std::vector<std::string> argv_;
  std::map<std::string, std::string> env_;
  std::vector<std::string> launcher_;
  std::string log_path_;
  int admin_port_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace redrive::testing
