#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "core/config/config.hpp"
#include "core/pg/thread_connection.hpp"
#include "core/runtime/blocking_pool.hpp"
#include "core/runtime/sleep.hpp"

namespace redrive::workers {

// A database step's result, or why it failed. Failures are values here: they are expected
// (PostgreSQL restarts) and exceptions must not cross a co_await.
template <typename Result>
struct DbResult {
  Result value{};
  std::optional<pg::DatabaseError> error;
  bool ok() const { return !error.has_value(); }
};

template <typename Result>
using DbWork = std::function<Result(pqxx::connection_base&)>;

// The worker's database access: a bounded pool of connections (one per pool thread),
// awaited from event coroutines so a slow query never stalls the event loop.
class Database {
 public:
  using OnError = std::function<void(const pg::DatabaseError&)>;

  Database(config::Database config, std::string application_name, OnError on_error)
      : config_(std::move(config)),
        application_name_(std::move(application_name)),
        on_error_(std::move(on_error)),
        pool_(static_cast<std::size_t>(config_.pool_size)) {}

  // One attempt. `work` is taken by reference: pass a named DbWork that outlives the await.
  template <typename Result>
  boost::asio::awaitable<DbResult<Result>> Run(const DbWork<Result>& work) {
    auto on_thread = [this, work]() {
      Result result{};
      pg::RunOnThreadConnection(config_, application_name_, [&](pqxx::connection_base& connection) {
        result = work(connection);
      });
      return result;
    };
    auto outcome = co_await pool_.Run(std::move(on_thread));
    DbResult<Result> result;
    result.value = std::move(outcome.value);
    if (outcome.error) {
      try {
        std::rethrow_exception(outcome.error);
      } catch (const pg::DatabaseError& error) {
        result.error = error;
      } catch (const std::exception& error) {
        // Our own checks inside a step (an order that keeps changing, a failpoint): worth
        // another try, like a rolled-back transaction.
        result.error = pg::DatabaseError(pg::DbErrorKind::kRollback, error.what());
      }
    }
    co_return result;
  }

  // Retries connection failures and rollbacks (never in-doubt commits) with capped
  // exponential backoff until `patience` is spent. The steps' writes are conditional, so a
  // retry after an unseen success changes nothing.
  template <typename Result>
  boost::asio::awaitable<DbResult<Result>> RunWithRetry(const DbWork<Result>& work,
                                                        std::chrono::milliseconds patience) {
    auto delay = std::chrono::milliseconds(50);
    std::chrono::milliseconds waited{0};
    while (true) {
      DbResult<Result> result = co_await Run<Result>(work);
      if (result.ok()) co_return result;
      if (on_error_) on_error_(*result.error);
      if (!result.error->Retryable() || waited + delay > patience) co_return result;
      co_await runtime::AsyncSleep(delay);
      waited += delay;
      delay = std::min(delay * 2, std::chrono::milliseconds(2000));
    }
  }

  const std::string& application_name() const { return application_name_; }
  void Join() { pool_.Join(); }

 private:
  config::Database config_;
  std::string application_name_;
  OnError on_error_;
  runtime::BlockingPool pool_;
};

}  // namespace redrive::workers
