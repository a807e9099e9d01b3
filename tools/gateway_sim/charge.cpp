#include "tools/gateway_sim/charge.hpp"

#include <cctype>
#include <nlohmann/json.hpp>

namespace redrive::gateway_sim {
namespace {

using ParseResult = boost::system::result<ChargeRequest, std::string>;

ParseResult Invalid(std::string message) {
  return ParseResult(boost::system::in_place_error, std::move(message));
}

bool IsCurrencyCode(const std::string& text) {
  if (text.size() != 3) return false;
  for (unsigned char c : text) {
    if (!std::isalpha(c)) return false;
  }
  return true;
}

}  // namespace

std::string_view ToString(ChargeStatus status) {
  switch (status) {
    case ChargeStatus::kSucceeded:
      return "succeeded";
    case ChargeStatus::kDeclined:
      return "declined";
  }
  return "succeeded";
}

ParseResult ParseChargeRequest(std::string_view body) {
  // No exceptions on client input: a malformed body is an expected failure.
  const auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Invalid("body is not valid JSON");
  if (!json.is_object()) return Invalid("body must be a JSON object");

  ChargeRequest request;
  const auto order_id = json.find("order_id");
  if (order_id == json.end() || !order_id->is_string()) {
    return Invalid("order_id is required and must be a string");
  }
  request.order_id = order_id->get<std::string>();
  if (request.order_id.empty() || request.order_id.size() > kMaxOrderIdLength) {
    return Invalid("order_id must be 1 to 255 characters");
  }

  const auto amount = json.find("amount_cents");
  // is_number_integer rejects 10.5 and 1e3: an amount in cents is never fractional.
  if (amount == json.end() || !amount->is_number_integer()) {
    return Invalid("amount_cents is required and must be an integer");
  }
  if (amount->is_number_unsigned()) {
    const auto value = amount->get<std::uint64_t>();
    if (value > static_cast<std::uint64_t>(INT64_MAX)) return Invalid("amount_cents is too large");
    request.amount_cents = static_cast<std::int64_t>(value);
  } else {
    request.amount_cents = amount->get<std::int64_t>();
  }
  if (request.amount_cents <= 0) return Invalid("amount_cents must be greater than 0");

  const auto currency = json.find("currency");
  if (currency == json.end() || !currency->is_string()) {
    return Invalid("currency is required and must be a string");
  }
  request.currency = currency->get<std::string>();
  if (!IsCurrencyCode(request.currency)) {
    return Invalid("currency must be a three-letter ISO 4217 code");
  }
  return request;
}

std::optional<std::string> CheckIdempotencyKey(std::string_view key) {
  if (key.empty()) return "the Idempotency-Key header is required";
  if (key.size() > kMaxIdempotencyKeyLength) {
    return "the Idempotency-Key header must be at most 255 characters";
  }
  return std::nullopt;
}

std::string ChargeJson(const Charge& charge) {
  nlohmann::ordered_json json;
  json["id"] = charge.id;
  json["status"] = ToString(charge.status);
  json["order_id"] = charge.request.order_id;
  json["amount_cents"] = charge.request.amount_cents;
  json["currency"] = charge.request.currency;
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ErrorJson(std::string_view code, std::string_view message) {
  nlohmann::ordered_json json;
  json["error"] = code;
  json["message"] = message;
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace redrive::gateway_sim
