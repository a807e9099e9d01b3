#include "core/http/gateway_lookup.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "core/http/gateway_client.hpp"

namespace redrive::http {

GatewayLookupClient::GatewayLookupClient(Endpoint endpoint, std::chrono::milliseconds timeout,
                                         const Clock& clock, decide::CircuitBreaker& breaker)
    : endpoint_(std::move(endpoint)), timeout_(timeout), clock_(clock), breaker_(breaker) {}

bool GatewayLookupClient::BreakerOpen() const {
  return breaker_.State() == decide::BreakerState::kOpen;
}

decide::GatewayLookup GatewayLookupClient::Lookup(const std::string& idempotency_key) const {
  if (!breaker_.AllowRequest()) return decide::GatewayLookup::kUnreachable;
  boost::asio::io_context io;
  const GatewayClient client(endpoint_, timeout_, clock_);
  GatewayReply reply;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> { reply = co_await client.Lookup(idempotency_key); },
      boost::asio::detached);
  io.run();
  const auto answer = decide::ClassifyLookupReply(
      reply.status,
      reply.charge_status ? std::optional<std::string_view>(*reply.charge_status) : std::nullopt,
      reply.TransportError());
  if (answer == decide::GatewayLookup::kUnreachable) {
    breaker_.RecordFailure();
  } else {
    breaker_.RecordSuccess();
  }
  return answer;
}

}  // namespace redrive::http
