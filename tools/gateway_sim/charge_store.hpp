#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>

#include "core/domain/clock.hpp"
#include "tools/gateway_sim/charge.hpp"

namespace redrive::gateway_sim {

// The gateway's memory: idempotency keys with a retention (TTL), and the ledger of charges
// actually executed per order. Pure and single-threaded: the caller serialises access.
//
// A key is reserved when its first request arrives and recorded when the charge executes.
// Retention counts from the charge, like Stripe's 24 hours; after it the key is forgotten
// and the same key charges anew. That is why redrive must stop automatic re-drives well
// inside the retention.
class ChargeStore {
 public:
  ChargeStore(const Clock& clock, std::chrono::seconds key_ttl);

  // The caller now owns the key and must Record() a charge under it.
  struct Reserved {};
  // Another request with this key has not finished yet.
  struct InFlight {};
  // The key was used with different parameters.
  struct Mismatch {};
  // The key already settled with the same parameters: answer with this, charge nothing.
  struct Replay {
    Charge charge;
  };
  using BeginResult = std::variant<Reserved, InFlight, Mismatch, Replay>;

  BeginResult Begin(const std::string& key, const ChargeRequest& request);
  // Settles a reservation: the charge executed (a capture when it succeeded).
  void Record(const std::string& key, const Charge& charge);

  struct NotFound {};
  using LookupResult = std::variant<NotFound, InFlight, Charge>;
  LookupResult Find(const std::string& key);

  struct OrderEntry {
    std::int64_t captures = 0;  // succeeded charges, whatever key was used
    ChargeStatus latest = ChargeStatus::kSucceeded;
  };
  // Ordered so the ledger renders deterministically.
  const std::map<std::string, OrderEntry>& Orders() const { return orders_; }
  // Keys currently remembered (reserved or settled and not expired).
  std::size_t KeyCount() const { return keys_.size(); }

 private:
  struct KeyEntry {
    ChargeRequest request;
    std::optional<Charge> charge;  // empty while in flight
    Clock::TimePoint expires_at{};
  };

  // Forgets settled keys whose retention has passed. Amortised O(1): expiries are queued
  // in the order they were set, and one TTL applies to all of them.
  void ExpireKeys();

  const Clock& clock_;
  std::chrono::seconds key_ttl_;
  std::unordered_map<std::string, KeyEntry> keys_;
  std::deque<std::pair<Clock::TimePoint, std::string>> expiry_queue_;
  std::map<std::string, OrderEntry> orders_;
};

}  // namespace redrive::gateway_sim
