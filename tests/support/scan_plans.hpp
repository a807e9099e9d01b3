#pragma once

#include <string>
#include <vector>

#include "core/pg/controller_scan.hpp"

namespace redrive::testing {

// The rows that must not matter to any loop scan: `orders` settled orders from a day ago,
// each with the processed_events record of its consumed payment event (a completed event
// leaves the outbox), a replayed dead letter for every tenth event and, when asked, an audit
// row for every fourth order.
void SeedSettledHistory(const std::string& url, int orders, bool with_audit_rows);

// What piles up in the outbox itself: dead rows, which stay. Here the webhook events of
// `orders` of the seeded orders that a gone subscriber rejected, their dead letters
// discarded.
void SeedDeadWebhooks(const std::string& url, int orders);

// EXPLAINs each scan with its sample arguments and CHECKs that it is served by its index
// (or one of the '|'-separated alternatives) and reads no redrive table whole.
void CheckScansUseTheirIndexes(const std::string& url,
                               const std::vector<pg::ControllerScan>& scans);

}  // namespace redrive::testing
