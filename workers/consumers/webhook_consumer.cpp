#include "workers/consumers/webhook_consumer.hpp"

#include <cmath>

#include "core/decide/backoff.hpp"
#include "core/decide/webhook_reply.hpp"
#include "core/http/signature.hpp"
#include "core/runtime/log.hpp"
#include "workers/event_decoding.hpp"

namespace redrive::workers {

WebhookConsumer::WebhookConsumer(EventActions& actions, http::Endpoint endpoint, std::string secret,
                                 std::chrono::milliseconds timeout)
    : actions_(actions),
      endpoint_(std::move(endpoint)),
      secret_(std::move(secret)),
      timeout_(timeout) {}

boost::asio::awaitable<EventOutcome> WebhookConsumer::Handle(const pg::ClaimedEvent& event) {
  const DecodedWebhook decoded = DecodeWebhookEvent(event);
  if (!decoded.ok()) {
    co_return co_await actions_.DeadLetter(event, decoded.poison_reason, decoded.detail);
  }
  const auto timestamp =
      std::to_string(static_cast<long long>(std::floor(event.database_now_epoch)));
  const std::string& body = decoded.body;
  http::OutboundRequest request;
  request.method = "POST";
  request.timeout = timeout_;
  request.max_response_bytes = 64 * 1024;
  request.headers = {{"Content-Type", "application/json"},
                     {"X-Redrive-Event-Id", event.event_id},
                     {"X-Redrive-Event-Type", event.event_type},
                     {"X-Redrive-Timestamp", timestamp},
                     {"X-Redrive-Signature", http::WebhookSignature(secret_, body)}};
  request.body = body;
  const http::InboundResponse response = co_await http::Send(endpoint_, std::move(request));

  const auto decision = decide::ClassifyWebhookReply(response.status, !response.Answered());
  switch (decision.outcome) {
    case decide::DeliveryOutcome::kDelivered:
      log::Info("webhook delivered", {{"event_id", event.event_id},
                                      {"event_type", event.event_type},
                                      {"status", response.status}});
      co_return co_await actions_.Complete(event);
    case decide::DeliveryOutcome::kRetry: {
      std::optional<std::chrono::milliseconds> retry_after;
      if (const auto header = response.headers.find("retry-after");
          header != response.headers.end()) {
        if (const auto seconds = decide::ParseRetryAfter(header->second)) retry_after = *seconds;
      }
      const std::string error =
          decision.reason +
          (response.transport_error.empty() ? "" : ": " + response.transport_error);
      co_return co_await actions_.RetryLater(event, error, retry_after);
    }
    case decide::DeliveryOutcome::kDeadLetter:
      co_return co_await actions_.DeadLetter(
          event, decision.reason, "subscriber answered " + std::to_string(response.status));
  }
  co_return EventOutcome::kAbandoned;
}

}  // namespace redrive::workers
