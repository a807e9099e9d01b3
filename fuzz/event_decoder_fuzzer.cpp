// libFuzzer target: the event decoders (workers/event_decoding.hpp), which turn whatever an
// outbox row holds into a payment or webhook request or a poison reason.
//
// Input: byte 0 chooses the event type (bits 0-1: OrderCreated, PaymentSucceeded,
// PaymentFailed, or the text up to the first newline) and whether the payload was too large
// to be read (bit 2); the rest is the payload text.
//
// Beyond "no crash, no sanitizer report, no exception", it checks what the consumers rely
// on: a usable payment has a canonical UUID; poison has a known reason and a short detail
// that never carries the payload; a webhook body is the payload, unchanged, in an
// envelope; and any JSON object within the depth limit is accepted (no false poison).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/domain/ids.hpp"
#include "workers/event_decoding.hpp"

namespace {

using redrive::workers::kMaxPayloadDepth;

[[noreturn]] void Fail(const std::string& what, const std::string& payload) {
  std::cerr << "event_decoder_fuzzer: " << what << "\npayload (" << payload.size()
            << " bytes): " << payload.substr(0, 200) << "\n";
  std::abort();
}

// The nesting depth of a parsed document, walked without recursion.
int Depth(const nlohmann::json& root) {
  int deepest = 0;
  std::vector<std::pair<const nlohmann::json*, int>> stack = {{&root, 0}};
  while (!stack.empty()) {
    const auto [node, depth] = stack.back();
    stack.pop_back();
    if (!node->is_structured()) continue;
    deepest = std::max(deepest, depth + 1);
    for (const auto& child : *node) stack.emplace_back(&child, depth + 1);
  }
  return deepest;
}

bool KnownReason(const std::string& reason) {
  return reason == redrive::workers::kMalformedPayload ||
         reason == redrive::workers::kUnknownEventType ||
         reason == redrive::workers::kPayloadTooLarge;
}

void CheckPoison(const std::string& reason, const std::string& detail, const std::string& payload) {
  if (!KnownReason(reason)) Fail("unknown poison reason " + reason, payload);
  if (detail.empty()) Fail("poison without a detail", payload);
  // The detail goes to dead_letter_events.last_error and the log: bounded, and never the
  // payload itself (the event type is echoed, cut to 100 bytes).
  if (detail.size() > 200) Fail("poison detail of " + std::to_string(detail.size()), payload);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);

  redrive::pg::ClaimedEvent event;
  event.outbox_id = 1;
  event.event_id = "6f1c1f8e-4a55-4d59-9f59-3a8f6f0c0a01";
  event.consumer = "payment";
  event.attempts = 1;
  event.database_now_epoch = 1.7e9;
  switch (flags & 3) {
    case 0:
      event.event_type = "OrderCreated";
      break;
    case 1:
      event.event_type = "PaymentSucceeded";
      break;
    case 2:
      event.event_type = "PaymentFailed";
      break;
    default: {
      const auto newline = rest.find('\n');
      event.event_type = rest.substr(0, newline);
      rest = newline == std::string::npos ? "" : rest.substr(newline + 1);
    }
  }
  event.payload_bytes = static_cast<std::int64_t>(rest.size());
  if ((flags & 4) == 0) event.payload = rest;
  const std::string& payload = rest;

  // What a correct decoder must conclude, from nlohmann's own verdicts.
  // nlohmann stops at a NUL byte as if the input ended there: such a payload is not JSON.
  const bool has_nul = payload.find('\0') != std::string::npos;
  const nlohmann::json parsed = nlohmann::json::parse(payload, nullptr, false);
  const bool usable_object = event.payload && !has_nul && !parsed.is_discarded() &&
                             parsed.is_object() && Depth(parsed) <= kMaxPayloadDepth;

  const auto payment = redrive::workers::DecodePaymentEvent(event);
  if (payment.ok()) {
    if (!redrive::domain::IsUuid(payment.order_id)) Fail("order_id is not a UUID", payload);
    if (event.event_type != "OrderCreated" || !usable_object) Fail("accepted poison", payload);
    if (parsed.at("order_id") != payment.order_id) Fail("order_id differs", payload);
  } else {
    CheckPoison(payment.poison_reason, payment.detail, payload);
    if (event.event_type == "OrderCreated" && usable_object) {
      const auto id = parsed.find("order_id");
      if (id != parsed.end() && id->is_string() &&
          redrive::domain::IsUuid(id->get_ref<const std::string&>())) {
        Fail("refused a usable OrderCreated: " + payment.detail, payload);
      }
    }
  }

  const auto webhook = redrive::workers::DecodeWebhookEvent(event);
  const bool webhook_type =
      event.event_type == "PaymentSucceeded" || event.event_type == "PaymentFailed";
  if (webhook.ok()) {
    if (!webhook_type || !usable_object) Fail("webhook accepted poison", payload);
    const auto body = nlohmann::json::parse(webhook.body, nullptr, false);
    if (!body.is_object() || body.size() != 3) Fail("webhook body is not the envelope", payload);
    if (body.at("id") != event.event_id || body.at("type") != event.event_type) {
      Fail("webhook envelope has the wrong id or type", payload);
    }
    if (body.at("data") != parsed) Fail("webhook data differs from the payload", payload);
  } else {
    CheckPoison(webhook.poison_reason, webhook.detail, payload);
    if (webhook_type && usable_object) Fail("refused a usable webhook: " + webhook.detail, payload);
  }

  // The depth scanner agrees with the parser on every document the parser accepts.
  if (!parsed.is_discarded() && !has_nul) {
    const int scanned = redrive::workers::JsonNestingDepth(payload, 1 << 30);
    if (scanned != Depth(parsed)) {
      Fail("JsonNestingDepth says " + std::to_string(scanned) + ", the parser " +
               std::to_string(Depth(parsed)),
           payload);
    }
  }
  return 0;
}
