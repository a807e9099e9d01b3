#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <string_view>

#include "core/pg/outbox_store.hpp"

namespace redrive::workers {

// What became of one claimed event.
enum class EventOutcome {
  kCompleted,     // done (effect recorded, or nothing to do)
  kRetried,       // released with backoff for a later attempt
  kDeadLettered,  // moved to dead_letter_events
  kAbandoned,     // could not even record a result (database gone): the lease expires and
                  // the controller re-drives it
};

std::string_view ToString(EventOutcome outcome);

// One kind of consumer (payment, webhook, noop). Handle() owns the row from claim to its
// end state and must leave it completed, released, dead-lettered or (as a last resort)
// abandoned to lease expiry. It never throws for expected failures.
class Consumer {
 public:
  virtual ~Consumer() = default;
  virtual boost::asio::awaitable<EventOutcome> Handle(const pg::ClaimedEvent& event) = 0;
  // False while claiming would only burn attempts (the gateway's circuit breaker is open).
  virtual bool ShouldClaim() { return true; }
  // At most how many events to claim now, given `free_slots`; a half-open breaker wants a
  // single probe.
  virtual int ClaimLimit(int free_slots) { return free_slots; }
};

}  // namespace redrive::workers
