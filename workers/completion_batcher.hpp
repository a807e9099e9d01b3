#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "workers/database.hpp"

namespace redrive::workers {

// Group commit for completions, off the handlers' path. An event that only needs
// "completed" (a delivered webhook, a no-op, a duplicate of a settled order) is handed over
// here and its slot is free at once; one transaction then completes every row handed over
// meanwhile. At most one flush runs at a time and whatever queued up during it forms the
// next, so an idle worker flushes a lone completion at once and a busy one commits hundreds
// together.
//
// Until its flush commits, a row stays claimed under its lease: a crash in between means
// the event is handled again after the lease, as at-least-once delivery allows (the effects
// are idempotent). A drain waits for the flushes (Pending() == 0) before the process exits.
//
// Lives on the worker's io_context thread (single-threaded), like the claim loop.
class CompletionBatcher {
 public:
  CompletionBatcher(boost::asio::any_io_executor executor, Database& database,
                    std::chrono::milliseconds patience)
      : executor_(std::move(executor)), database_(database), patience_(patience) {}

  // The most rows one transaction completes; a larger backlog takes several. The claim loop
  // pauses while more than this wait (decide::ClaimPacingState::max_pending_completions).
  static constexpr std::size_t kMaxBatch = 1000;

  void Enqueue(std::int64_t outbox_id);
  // Called on the io_context after every flush: the claim loop may have paused for the
  // pending completions, and may claim again.
  void OnFlushed(std::function<void()> callback) { on_flushed_ = std::move(callback); }
  // Rows handed over and not yet committed (or given up on).
  int Pending() const { return static_cast<int>(queued_.size()) + flushing_rows_; }

 private:
  boost::asio::awaitable<void> FlushAll();

  boost::asio::any_io_executor executor_;
  Database& database_;
  std::chrono::milliseconds patience_;
  std::vector<std::int64_t> queued_;
  bool flushing_ = false;
  int flushing_rows_ = 0;
  std::function<void()> on_flushed_;
};

}  // namespace redrive::workers
