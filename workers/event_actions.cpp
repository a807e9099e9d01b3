#include "workers/event_actions.hpp"

#include "core/decide/attempts.hpp"
#include "core/decide/backoff.hpp"
#include "core/runtime/log.hpp"

namespace redrive::workers {

std::string_view ToString(EventOutcome outcome) {
  switch (outcome) {
    case EventOutcome::kCompleted:
      return "completed";
    case EventOutcome::kRetried:
      return "retried";
    case EventOutcome::kDeadLettered:
      return "dead_lettered";
    case EventOutcome::kAbandoned:
      return "abandoned";
  }
  return "abandoned";
}

pg::ClaimedEvent WithoutPayload(const pg::ClaimedEvent& event) {
  // Every field but the payload, by name so that the payload is never copied. A field added
  // to ClaimedEvent changes its size (as built here: 64-bit libstdc++): copy it below too,
  // then update the size.
#if defined(__GLIBCXX__) && __SIZEOF_POINTER__ == 8
  static_assert(sizeof(pg::ClaimedEvent) == 216, "a new ClaimedEvent field: copy it here");
#endif
  return pg::ClaimedEvent{.outbox_id = event.outbox_id,
                          .event_id = event.event_id,
                          .consumer = event.consumer,
                          .event_type = event.event_type,
                          .aggregate_id = event.aggregate_id,
                          .payload = std::nullopt,
                          .payload_bytes = event.payload_bytes,
                          .attempts = event.attempts,
                          .database_now_epoch = event.database_now_epoch,
                          .available_at_us = event.available_at_us};
}

EventActions::EventActions(boost::asio::any_io_executor executor, Database& database,
                           metrics::WorkerMetrics& metrics, config::Worker config,
                           std::string instance_id, std::function<double()> uniform01)
    : database_(database),
      metrics_(metrics),
      config_(std::move(config)),
      instance_id_(std::move(instance_id)),
      uniform01_(std::move(uniform01)),
      // Keep retrying a write for half the lease: after that the claim may be re-driven
      // and whoever holds it next will redo the work safely anyway.
      patience_(std::chrono::seconds(config_.lease_seconds) / 2),
      completions_(std::move(executor), database_, patience_) {}

void EventActions::LogAbandoned(const pg::ClaimedEvent& event, const char* step,
                                const std::string& error) {
  metrics_.database_errors_total.Increment();
  log::Error("database unavailable, leaving the event to lease expiry",
             {{"event_id", event.event_id},
              {"outbox_id", event.outbox_id},
              {"consumer", event.consumer},
              {"step", step},
              {"error", error}});
}

boost::asio::awaitable<EventOutcome> EventActions::Complete(const pg::ClaimedEvent& event) {
  completions_.Enqueue(event.outbox_id);
  co_return EventOutcome::kCompleted;
}

boost::asio::awaitable<EventOutcome> EventActions::DeadLetter(const pg::ClaimedEvent& event,
                                                              const std::string& reason,
                                                              const std::string& error) {
  const DbWork<bool> dead_letter = [row = WithoutPayload(event), reason,
                                    error](pqxx::connection_base& c) {
    return pg::DeadLetter(c, row, reason, error);
  };
  const auto moved = co_await Try<bool>(event, "dead_letter", dead_letter);
  if (!moved) co_return EventOutcome::kAbandoned;
  if (*moved) metrics_.DeadLetters(reason).Increment();
  log::Warn("event dead-lettered", {{"event_id", event.event_id},
                                    {"outbox_id", event.outbox_id},
                                    {"consumer", event.consumer},
                                    {"event_type", event.event_type},
                                    {"reason", reason},
                                    {"error", error},
                                    {"attempts", event.attempts}});
  co_return EventOutcome::kDeadLettered;
}

boost::asio::awaitable<EventOutcome> EventActions::RetryLater(
    const pg::ClaimedEvent& event, const std::string& error,
    std::optional<std::chrono::milliseconds> retry_after) {
  const auto decision = decide::RetryOrDeadLetter(event.attempts, config_.max_attempts);
  if (decision.action == decide::FailureAction::kDeadLetter) {
    co_return co_await DeadLetter(event, decision.reason, error);
  }
  const decide::BackoffPolicy policy{.base = std::chrono::milliseconds(config_.backoff_base_ms),
                                     .max = std::chrono::milliseconds(config_.backoff_max_ms)};
  const auto delay = decide::NextDelay(event.attempts, policy, uniform01_(), retry_after);
  log::Info("event will be retried", {{"event_id", event.event_id},
                                      {"consumer", event.consumer},
                                      {"attempts", event.attempts},
                                      {"delay_ms", static_cast<std::int64_t>(delay.count())},
                                      {"error", error}});
  co_return co_await GiveBack(event, delay, error);
}

boost::asio::awaitable<EventOutcome> EventActions::GiveBack(const pg::ClaimedEvent& event,
                                                            std::chrono::milliseconds delay,
                                                            const std::string& why) {
  const std::string instance = instance_id_;
  const DbWork<bool> release = [row = WithoutPayload(event), instance, delay,
                                why](pqxx::connection_base& c) {
    return pg::Release(c, row, instance, delay, why);
  };
  const auto released = co_await Try<bool>(event, "release", release);
  co_return released ? EventOutcome::kRetried : EventOutcome::kAbandoned;
}

}  // namespace redrive::workers
