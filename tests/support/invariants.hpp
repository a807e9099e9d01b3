#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// The invariants a run of redrive must keep, checked over what the run left behind. Pure:
// the caller gathers the observations (tests/support/run_observations.hpp reads them from
// PostgreSQL, the gateway's ledger and the processes' logs); this decides.
namespace redrive::testing {

struct ObservedOrder {
  std::string id;
  std::string state;  // CREATED, PAYMENT_PENDING, PAID, FAILED, NEEDS_REVIEW
  int captures = 0;   // captures the gateway's ledger shows for this order
};

struct RunObservations {
  std::vector<ObservedOrder> orders;
  // Orders with more than one settlement event (PaymentSucceeded/PaymentFailed) queued: a
  // late write that should have been rejected.
  std::vector<std::string> orders_settled_twice;
  // Order ids the gateway captured that the database does not know.
  std::vector<std::string> captures_of_unknown_orders;
  std::int64_t pending_outbox_rows = 0;          // neither completed nor dead-lettered
  std::int64_t dead_letters_without_reason = 0;  // empty reason or zero attempts
  // Applied audit rows whose version did not grow, or that no longer match the order.
  std::int64_t audit_rows_with_bad_versions = 0;
  std::int64_t log_lines_with_secrets = 0;
  std::string first_secret_leak;  // "file:line" of the first one, for the report
  std::int64_t backlog = 0;       // pending outbox rows when the run was judged
  std::int64_t backlog_threshold = 0;
};

struct InvariantResult {
  std::string id;    // "I1" ... "I8"
  std::string name;  // one line a reader understands
  bool held = false;
  std::string detail;  // counts when it held, the first offenders when it did not
};

// One result per invariant, in order I1..I8 (I6 covers versions and audit rows).
std::vector<InvariantResult> CheckInvariants(const RunObservations& run);

// True when `line` holds one of `secrets` (non-empty ones) or a run of 13 to 19 digits
// that passes the Luhn check, the shape of a card number.
bool LeaksSecret(std::string_view line, const std::vector<std::string>& secrets);

}  // namespace redrive::testing
