#include "core/http/gateway_client.hpp"

#include <nlohmann/json.hpp>

#include "core/decide/backoff.hpp"
#include "core/domain/percent_encoding.hpp"

namespace redrive::http {

GatewayClient::GatewayClient(Endpoint endpoint, std::chrono::milliseconds timeout,
                             const Clock& clock, Observer observer)
    : endpoint_(std::move(endpoint)),
      timeout_(timeout),
      clock_(clock),
      observer_(std::move(observer)) {}

boost::asio::awaitable<GatewayReply> GatewayClient::Charge(
    const ChargeRequest& request, const std::string& idempotency_key) const {
  OutboundRequest outbound;
  outbound.method = "POST";
  outbound.target = "/v1/charges";
  outbound.headers = {{"Idempotency-Key", idempotency_key}, {"Content-Type", "application/json"}};
  outbound.body = nlohmann::json{{"order_id", request.order_id},
                                 {"amount_cents", request.amount_cents},
                                 {"currency", request.currency}}
                      .dump();
  co_return co_await Exchange(std::move(outbound));
}

boost::asio::awaitable<GatewayReply> GatewayClient::Lookup(
    const std::string& idempotency_key) const {
  OutboundRequest outbound;
  outbound.method = "GET";
  outbound.target = "/v1/charges?idempotency_key=" + domain::PercentEncode(idempotency_key);
  co_return co_await Exchange(std::move(outbound));
}

boost::asio::awaitable<GatewayReply> GatewayClient::Exchange(OutboundRequest request) const {
  request.timeout = timeout_;
  request.max_response_bytes = 64 * 1024;
  const auto started = clock_.Now();
  const InboundResponse response = co_await Send(endpoint_, std::move(request));
  if (observer_) observer_(response.status, clock_.Now() - started);

  GatewayReply reply;
  reply.status = response.status;
  reply.error = response.transport_error;
  if (const auto header = response.headers.find("retry-after"); header != response.headers.end()) {
    if (const auto seconds = decide::ParseRetryAfter(header->second)) reply.retry_after = *seconds;
  }
  if (response.status == 200 && response.body_truncated) {
    reply.error = "gateway answered 200 with a body over the size limit";
  } else if (response.status == 200) {
    const auto body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_object() && body.contains("status") && body["status"].is_string()) {
      reply.charge_status = body["status"].get<std::string>();
      if (body.contains("id") && body["id"].is_string())
        reply.charge_id = body["id"].get<std::string>();
    } else {
      reply.error = "gateway answered 200 with an unexpected body";
    }
  }
  co_return reply;
}

}  // namespace redrive::http
