#pragma once

#include <string>
#include <string_view>

#include "core/pg/outbox_store.hpp"

// Turning a claimed outbox row into what a consumer acts on. Pure and total: whatever the
// row holds, the answer is a usable request or a poison reason with a detail, never an
// exception or a crash (fuzz/event_decoder_fuzzer.cpp holds it to that). No I/O, and no
// Beast, pqxx or nlohmann in this header, so the fuzzer builds it on its own.
namespace redrive::workers {

// Payloads nested deeper than this are poison (malformed_payload). nlohmann's copy, dump
// and comparison recurse once per level, while PostgreSQL stores jsonb as deep as its
// max_stack_depth lets it parse: about 12 000 levels by default, about 50 000 when a
// superuser raises it, unbounded with an unlimited stack. Real events are a few levels deep.
inline constexpr int kMaxPayloadDepth = 128;

// The poison reasons a decoder gives; they land in dead_letter_events.reason.
inline constexpr const char* kMalformedPayload = "malformed_payload";
inline constexpr const char* kUnknownEventType = "unknown_event_type";
inline constexpr const char* kPayloadTooLarge = "payload_too_large";

// An OrderCreated event for the payment consumer.
struct DecodedPayment {
  std::string order_id;       // a canonical UUID, when the event is usable
  std::string poison_reason;  // empty when the event is usable
  std::string detail;         // why it is poison, without the payload
  bool ok() const { return poison_reason.empty(); }
};

// Strict: the type must be OrderCreated and the payload a JSON object whose order_id is a
// canonical UUID. Other members (amount_cents, currency, ...) are not read: the charge is
// made from the order row, the one source of truth, so a payload cannot change the amount.
DecodedPayment DecodePaymentEvent(const pg::ClaimedEvent& event);

// A PaymentSucceeded or PaymentFailed event for the webhook consumer.
struct DecodedWebhook {
  // The delivery body, exactly the bytes that are signed and sent:
  // {"data": <payload>, "id": <event id>, "type": <event type>}.
  std::string body;
  std::string poison_reason;  // empty when the event is usable
  std::string detail;
  bool ok() const { return poison_reason.empty(); }
};

// The payload must be a JSON object; it is delivered as it is (re-serialized compactly).
DecodedWebhook DecodeWebhookEvent(const pg::ClaimedEvent& event);

// The deepest nesting of arrays and objects in JSON `text`, counting brackets outside
// strings; stops counting once it passes `limit`. Exact for valid JSON; for anything else
// the number is meaningless, but then the parser rejects the text anyway.
int JsonNestingDepth(std::string_view text, int limit);

}  // namespace redrive::workers
