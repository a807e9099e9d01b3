#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace redrive::testing {

// Places orders with place_order() at a steady rate from its own thread and connection, the
// way an order service would. A failed insert (the database restarting, say) is counted and
// the next one tried on time: the demo never stops placing because of one error.
class OrderLoad {
 public:
  OrderLoad(std::string database_url, double orders_per_second);
  ~OrderLoad();  // stops and joins
  OrderLoad(const OrderLoad&) = delete;
  OrderLoad& operator=(const OrderLoad&) = delete;

  void Stop();
  std::int64_t placed() const { return placed_.load(); }
  std::int64_t failed() const { return failed_.load(); }

 private:
  void Run();

  std::string database_url_;
  double orders_per_second_;
  std::atomic<bool> stop_{false};
  std::atomic<std::int64_t> placed_{0};
  std::atomic<std::int64_t> failed_{0};
  std::thread thread_;
};

}  // namespace redrive::testing
