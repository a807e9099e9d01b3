#pragma once

#include "core/http/http_client.hpp"
#include "workers/consumers/consumer.hpp"
#include "workers/event_actions.hpp"

namespace redrive::workers {

// PaymentSucceeded / PaymentFailed -> a signed POST to the subscriber. At-least-once: the
// event id travels in X-Redrive-Event-Id so the subscriber can drop duplicates.
class WebhookConsumer final : public Consumer {
 public:
  WebhookConsumer(EventActions& actions, http::Endpoint endpoint, std::string secret,
                  std::chrono::milliseconds timeout);

  boost::asio::awaitable<EventOutcome> Handle(const pg::ClaimedEvent& event) override;

 private:
  EventActions& actions_;
  http::Endpoint endpoint_;
  std::string secret_;
  std::chrono::milliseconds timeout_;
};

}  // namespace redrive::workers
