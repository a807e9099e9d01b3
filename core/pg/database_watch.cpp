#include "core/pg/database_watch.hpp"

#include "core/pg/connect.hpp"
#include "core/runtime/health.hpp"

namespace redrive::pg {

DatabaseWatch::DatabaseWatch(config::Database database, std::chrono::milliseconds interval,
                             Report report)
    : database_(std::move(database)), interval_(interval), report_(std::move(report)) {
  thread_ = std::thread([this] { Run(); });
}

DatabaseWatch::~DatabaseWatch() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void DatabaseWatch::Run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    report_(Ping(database_));
    lock.lock();
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

DatabaseWatch::Report ReadinessReport(runtime::Health& health) {
  health.SetReady("database", false, "not checked yet");
  return [&health](const std::optional<std::string>& error) {
    health.SetReady("database", !error, error.value_or(""));
  };
}

}  // namespace redrive::pg
