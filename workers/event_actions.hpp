#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "core/config/config.hpp"
#include "core/metrics/worker_metrics.hpp"
#include "core/pg/outbox_store.hpp"
#include "workers/completion_batcher.hpp"
#include "workers/consumers/consumer.hpp"
#include "workers/database.hpp"

namespace redrive::workers {

// The row without its payload, for what database steps capture: no step reads the payload
// (the SQL copies it row to row), and every captured copy of a large one would cost its
// size again while the step is queued and retried.
pg::ClaimedEvent WithoutPayload(const pg::ClaimedEvent& event);

// The ways an event ends, shared by every consumer: each is one guarded write, retried
// through short database outages, logged and counted.
class EventActions {
 public:
  EventActions(boost::asio::any_io_executor executor, Database& database,
               metrics::WorkerMetrics& metrics, config::Worker config, std::string instance_id,
               std::function<double()> uniform01);

  // Hands the completion to the batcher (group commit) and frees the slot at once.
  boost::asio::awaitable<EventOutcome> Complete(const pg::ClaimedEvent& event);
  // Completions handed over and not yet committed: the claim loop bounds them, and a drain
  // waits for them.
  int PendingCompletions() const { return completions_.Pending(); }
  void OnCompletionsFlushed(std::function<void()> callback) {
    completions_.OnFlushed(std::move(callback));
  }
  // Poison: never retried.
  boost::asio::awaitable<EventOutcome> DeadLetter(const pg::ClaimedEvent& event,
                                                  const std::string& reason,
                                                  const std::string& error);
  // A transient failure: released with backoff(attempts), or dead-lettered as max_attempts
  // when this was the last attempt. A Retry-After from the peer is honoured.
  boost::asio::awaitable<EventOutcome> RetryLater(
      const pg::ClaimedEvent& event, const std::string& error,
      std::optional<std::chrono::milliseconds> retry_after = std::nullopt);
  // Give the claim back without judging the event (circuit open, shutting down).
  boost::asio::awaitable<EventOutcome> GiveBack(const pg::ClaimedEvent& event,
                                                std::chrono::milliseconds delay,
                                                const std::string& why);

  // Runs a database step for `event` with the standard patience; nullopt (and a log line)
  // when the database stayed unreachable, so the caller can abandon the event.
  // `work` by reference: pass a named DbWork.
  template <typename Result>
  boost::asio::awaitable<std::optional<Result>> Try(const pg::ClaimedEvent& event, const char* step,
                                                    const DbWork<Result>& work);

  Database& database() { return database_; }
  const std::string& instance_id() const { return instance_id_; }

 private:
  void LogAbandoned(const pg::ClaimedEvent& event, const char* step, const std::string& error);

  Database& database_;
  metrics::WorkerMetrics& metrics_;
  config::Worker config_;
  std::string instance_id_;
  std::function<double()> uniform01_;
  std::chrono::milliseconds patience_;
  CompletionBatcher completions_;  // after patience_: built from it
};

template <typename Result>
boost::asio::awaitable<std::optional<Result>> EventActions::Try(const pg::ClaimedEvent& event,
                                                                const char* step,
                                                                const DbWork<Result>& work) {
  DbResult<Result> result = co_await database_.RunWithRetry<Result>(work, patience_);
  if (result.ok()) co_return std::optional<Result>(std::move(result.value));
  LogAbandoned(event, step, result.error->what());
  co_return std::nullopt;
}

}  // namespace redrive::workers
