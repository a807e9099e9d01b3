#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

namespace redrive::runtime {

// "Something may have changed, look again": a loop waits for a notification or a timeout,
// whichever comes first. A notification that arrives while nobody waits is remembered, so
// a wake-up is never lost between two waits. Use from the executor's thread only (post
// cross-thread notifications to it).
class WakeSignal {
 public:
  explicit WakeSignal(boost::asio::any_io_executor executor) : timer_(std::move(executor)) {}

  void Notify() {
    pending_ = true;
    timer_.cancel();
  }

  boost::asio::awaitable<void> Wait(std::chrono::milliseconds timeout);

 private:
  boost::asio::steady_timer timer_;
  bool pending_ = false;
};

}  // namespace redrive::runtime
