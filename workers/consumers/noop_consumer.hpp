#pragma once

#include "workers/consumers/consumer.hpp"
#include "workers/event_actions.hpp"

namespace redrive::workers {

// Completes whatever it claims, with no side effect: the claim machinery alone, for
// benchmarks against other PostgreSQL queues and for smoke tests.
class NoopConsumer final : public Consumer {
 public:
  explicit NoopConsumer(EventActions& actions) : actions_(actions) {}
  boost::asio::awaitable<EventOutcome> Handle(const pg::ClaimedEvent& event) override {
    co_return co_await actions_.Complete(event);
  }

 private:
  EventActions& actions_;
};

}  // namespace redrive::workers
