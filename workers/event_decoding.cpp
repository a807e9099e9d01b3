#include "workers/event_decoding.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/domain/ids.hpp"

namespace redrive::workers {
namespace {

// Event types are free text in the outbox (bounded only by the 8000-byte NOTIFY payload
// the insert trigger sends): echo a prefix, cut on a UTF-8 character boundary.
std::string Echo(std::string_view text) {
  constexpr std::size_t kMaxEchoed = 100;
  if (text.size() <= kMaxEchoed) return std::string(text);
  std::size_t end = kMaxEchoed;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end)) + "...";
}

// Parses a payload that must be a JSON object no deeper than kMaxPayloadDepth; on failure
// returns a discarded value and says why in `problem`.
nlohmann::json ParseObject(const std::string& payload, std::string& problem) {
  // nlohmann's parser stops at a NUL byte as if the input ended there, so `{...}\0junk`
  // would pass. PostgreSQL's text never holds one; anything else that does is not JSON.
  if (payload.find('\0') != std::string::npos) {
    problem = "payload holds a NUL byte";
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  if (JsonNestingDepth(payload, kMaxPayloadDepth) > kMaxPayloadDepth) {
    problem = "payload is nested deeper than " + std::to_string(kMaxPayloadDepth) + " levels";
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  auto parsed = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    // PostgreSQL's jsonb is always JSON; what nlohmann refuses is a number beyond a double's
    // range (numeric prints 1e400 as 401 digits).
    problem = "payload cannot be parsed (a number beyond a double's range?)";
    return parsed;
  }
  if (!parsed.is_object()) {
    problem = "payload is not a JSON object";
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  return parsed;
}

}  // namespace

int JsonNestingDepth(std::string_view text, int limit) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

DecodedPayment DecodePaymentEvent(const pg::ClaimedEvent& event) {
  if (event.event_type != "OrderCreated") {
    return {.order_id = "",
            .poison_reason = kUnknownEventType,
            .detail = "payment consumer does not handle " + Echo(event.event_type)};
  }
  if (!event.payload) {
    return {.order_id = "",
            .poison_reason = kPayloadTooLarge,
            .detail = std::to_string(event.payload_bytes) + " bytes"};
  }
  std::string problem;
  const nlohmann::json payload = ParseObject(*event.payload, problem);
  if (!problem.empty()) {
    return {.order_id = "", .poison_reason = kMalformedPayload, .detail = problem};
  }
  const auto order_id = payload.find("order_id");
  if (order_id == payload.end() || !order_id->is_string() ||
      !domain::IsUuid(order_id->get_ref<const std::string&>())) {
    return {.order_id = "",
            .poison_reason = kMalformedPayload,
            .detail = "order_id is missing or not a UUID"};
  }
  return {.order_id = order_id->get<std::string>(), .poison_reason = "", .detail = ""};
}

DecodedWebhook DecodeWebhookEvent(const pg::ClaimedEvent& event) {
  if (event.event_type != "PaymentSucceeded" && event.event_type != "PaymentFailed") {
    return {.body = "",
            .poison_reason = kUnknownEventType,
            .detail = "webhook consumer does not handle " + Echo(event.event_type)};
  }
  if (!event.payload) {
    return {.body = "",
            .poison_reason = kPayloadTooLarge,
            .detail = std::to_string(event.payload_bytes) + " bytes"};
  }
  std::string problem;
  nlohmann::json payload = ParseObject(*event.payload, problem);
  if (!problem.empty()) return {.body = "", .poison_reason = kMalformedPayload, .detail = problem};
  nlohmann::json body = nlohmann::json::object();
  body["id"] = event.event_id;
  body["type"] = event.event_type;
  body["data"] = std::move(payload);
  // A parsed payload is valid UTF-8, but the id and type come from the row as they are:
  // replace rather than throw, so no row can make the decoder fail.
  return {.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
          .poison_reason = "",
          .detail = ""};
}

}  // namespace redrive::workers
