#include "tools/gateway_sim/charge_store.hpp"

#include <stdexcept>

namespace redrive::gateway_sim {

ChargeStore::ChargeStore(const Clock& clock, std::chrono::seconds key_ttl)
    : clock_(clock), key_ttl_(key_ttl) {}

ChargeStore::BeginResult ChargeStore::Begin(const std::string& key, const ChargeRequest& request) {
  ExpireKeys();
  const auto [it, inserted] = keys_.try_emplace(
      key, KeyEntry{.request = request, .charge = std::nullopt, .expires_at = {}});
  if (inserted) return Reserved{};
  const KeyEntry& entry = it->second;
  // Stripe compares parameters before looking at the state: a different body is a client
  // bug (422) even while the first request is still running.
  if (!(entry.request == request)) return Mismatch{};
  if (!entry.charge) return InFlight{};
  return Replay{*entry.charge};
}

void ChargeStore::Record(const std::string& key, const Charge& charge) {
  const auto it = keys_.find(key);
  if (it == keys_.end() || it->second.charge) {
    throw std::logic_error("ChargeStore::Record without a reservation for the key");
  }
  it->second.charge = charge;
  it->second.expires_at = clock_.Now() + key_ttl_;
  expiry_queue_.emplace_back(it->second.expires_at, key);

  OrderEntry& order = orders_[charge.request.order_id];
  if (charge.status == ChargeStatus::kSucceeded) ++order.captures;
  order.latest = charge.status;
}

ChargeStore::LookupResult ChargeStore::Find(const std::string& key) {
  ExpireKeys();
  const auto it = keys_.find(key);
  if (it == keys_.end()) return NotFound{};
  if (!it->second.charge) return InFlight{};
  return *it->second.charge;
}

void ChargeStore::ExpireKeys() {
  const Clock::TimePoint now = clock_.Now();
  while (!expiry_queue_.empty() && expiry_queue_.front().first <= now) {
    const auto& [expires_at, key] = expiry_queue_.front();
    const auto it = keys_.find(key);
    // The key may have been re-used since this expiry was queued; only the settled entry
    // the expiry belongs to goes.
    if (it != keys_.end() && it->second.charge && it->second.expires_at == expires_at) {
      keys_.erase(it);
    }
    expiry_queue_.pop_front();
  }
}

}  // namespace redrive::gateway_sim
