#pragma once

#include <string>
#include <string_view>

namespace redrive::domain {

// True for the canonical textual form of a UUID: 8-4-4-4-12 hexadecimal digits separated
// by hyphens, either case, nothing around it (no braces, no "urn:uuid:", no whitespace).
// The version and variant nibbles are not checked: PostgreSQL's uuid type accepts any.
bool IsUuid(std::string_view text);

// The Idempotency-Key sent to the payment gateway for an order: "order-" followed by the
// order id in lower case.
//
// Derived from the ORDER, never from an event: a worker's retry, a controller re-drive
// (which emits a new event), a replay from the dead-letter table and a duplicate delivery
// all carry different event ids, yet must reach the gateway with the same key so it
// returns the first result instead of charging again. Lower-casing makes the key
// independent of how a client spelled the uuid; PostgreSQL prints uuids in lower case.
std::string IdempotencyKeyForOrder(std::string_view order_id);

}  // namespace redrive::domain
