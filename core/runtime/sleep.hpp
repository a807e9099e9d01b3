#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>

namespace redrive::runtime {

// Suspends the calling coroutine (never the thread) for `duration`.
boost::asio::awaitable<void> AsyncSleep(std::chrono::milliseconds duration);

}  // namespace redrive::runtime
