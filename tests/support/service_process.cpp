#include "tests/support/service_process.hpp"

#include <signal.h>

#include "tests/support/http_client.hpp"
#include "tests/support/redrive_processes.hpp"

namespace redrive::testing {

Service::Service(std::string name, std::vector<std::string> argv,
                 std::map<std::string, std::string> env, std::string log_path)
    : name_(std::move(name)),
      argv_(std::move(argv)),
      env_(std::move(env)),
      log_path_(std::move(log_path)),
      admin_port_(FreeLoopbackPort()) {
  env_["REDRIVE_ADMIN_LISTEN"] = "127.0.0.1:" + std::to_string(admin_port_);
}

std::string Service::MetricsUrl() const {
  return "http://127.0.0.1:" + std::to_string(admin_port_) + "/metrics";
}

int Service::pid() const {
  return process_ ? process_->pid() : -1;
}

bool Service::Running() const {
  return process_ && process_->Running();
}

void Service::SetEnv(const std::string& key, std::optional<std::string> value) {
  if (value) {
    env_[key] = *value;
  } else {
    env_.erase(key);
  }
}

void Service::Start() {
  std::vector<std::string> argv = launcher_;
  argv.insert(argv.end(), argv_.begin(), argv_.end());
  process_ = std::make_unique<ChildProcess>(argv, ProcessOptions{.env = env_,
                                                                 .stdout_path = log_path_,
                                                                 .stderr_path = log_path_,
                                                                 .own_process_group = true});
}

bool Service::WaitReady(std::chrono::milliseconds timeout) {
  return WaitUntil([&] { return !Running() || HttpGet(admin_port_, "/readyz").status == 200; },
                   timeout) &&
         Running();
}

double Service::Metric(const std::string& series) const {
  return MetricValue(admin_port_, series);
}

void Service::Kill() {
  if (!Running()) return;
  process_->Signal(SIGKILL);
  process_->Wait(std::chrono::seconds(5));
}

int Service::Stop(std::chrono::milliseconds grace) {
  if (!process_) return -1;
  if (!process_->Running()) return process_->Wait(std::chrono::milliseconds(0)).value_or(-1);
  process_->Signal(SIGTERM);
  if (const auto status = process_->Wait(grace)) return *status;
  process_->Signal(SIGKILL);
  return process_->Wait(std::chrono::seconds(5)).value_or(-1);
}

}  // namespace redrive::testing
