#include "core/runtime/wake_signal.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace redrive::runtime {

boost::asio::awaitable<void> WakeSignal::Wait(std::chrono::milliseconds timeout) {
  if (!pending_) {
    timer_.expires_after(timeout);
    // Cancellation is the wake-up, not an error.
    co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  }
  pending_ = false;
}

}  // namespace redrive::runtime
