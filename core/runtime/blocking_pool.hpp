#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <exception>
#include <type_traits>

namespace redrive::runtime {

// A fixed set of threads for blocking work (libpq calls), awaited from coroutines on the
// main io_context. Its size bounds the database connections a process holds: each thread
// keeps one. The awaiting coroutine resumes on its own executor, so a slow query occupies
// one pool thread, never the event loop.
class BlockingPool {
 public:
  explicit BlockingPool(std::size_t threads) : pool_(threads) {}
  ~BlockingPool() { Join(); }
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  template <typename Result>
  struct Outcome {
    Result value{};
    std::exception_ptr error;  // set when the work threw; value is then default
  };

  // Runs `function()` on a pool thread. Its result, or the exception it threw, comes back
  // as a value: nothing is thrown across the co_await (g++ 12 can destroy temporaries of a
  // co_await expression twice when it throws). Result must be default-constructible.
  template <typename Function>
  boost::asio::awaitable<Outcome<std::invoke_result_t<Function&>>> Run(Function function) {
    using Result = std::invoke_result_t<Function&>;
    static_assert(!std::is_void_v<Result>, "return a value (e.g. bool) from pooled work");
    const auto caller = co_await boost::asio::this_coro::executor;
    auto initiation = [this, caller](auto handler, Function work) {
      boost::asio::post(
          pool_, [handler = std::move(handler), work = std::move(work), caller]() mutable {
            Outcome<Result> outcome;
            try {
              outcome.value = work();
            } catch (...) {
              outcome.error = std::current_exception();
            }
            boost::asio::post(
                caller, [handler = std::move(handler), outcome = std::move(outcome)]() mutable {
                  std::move(handler)(std::move(outcome));
                });
          });
    };
    // Named, not a temporary: nothing with a destructor lives inside the co_await
    // expression across the suspension.
    auto pending =
        boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(Outcome<Result>)>(
            std::move(initiation), boost::asio::use_awaitable, std::move(function));
    Outcome<Result> outcome = co_await std::move(pending);
    co_return outcome;
  }

  // Waits for queued work to finish, then stops the threads. Idempotent.
  void Join() { pool_.join(); }

 private:
  boost::asio::thread_pool pool_;
};

}  // namespace redrive::runtime
