#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/config/config.hpp"

namespace redrive::runtime {
class Health;
}

namespace redrive::pg {

// Pings the database on its own thread every `interval` and reports each result, so
// /readyz answers from memory and a probe never waits on PostgreSQL.
class DatabaseWatch {
 public:
  // error is nullopt when the database answered.
  using Report = std::function<void(const std::optional<std::string>& error)>;

  DatabaseWatch(config::Database database, std::chrono::milliseconds interval, Report report);
  ~DatabaseWatch();  // stops and joins
  DatabaseWatch(const DatabaseWatch&) = delete;
  DatabaseWatch& operator=(const DatabaseWatch&) = delete;

 private:
  void Run();

  config::Database database_;
  std::chrono::milliseconds interval_;
  Report report_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// What the worker and the controller watch with: the readiness check "database" of
// `health`, not ready ("not checked yet") until the first ping answers.
DatabaseWatch::Report ReadinessReport(runtime::Health& health);

}  // namespace redrive::pg
