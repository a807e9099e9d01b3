#include "core/runtime/health.hpp"

namespace redrive::runtime {

// A process counts as live from construction: its loop has not had the chance to beat yet,
// and a probe that fails during start-up would get it killed before it ever ran.
Health::Health(const Clock& clock, std::chrono::seconds liveness_timeout)
    : clock_(clock), liveness_timeout_(liveness_timeout), last_beat_(clock.Now()) {}

void Health::Beat() {
  const auto now = clock_.Now();
  std::lock_guard lock(mutex_);
  last_beat_ = now;
}

bool Health::Live() const {
  const auto now = clock_.Now();
  std::lock_guard lock(mutex_);
  return now - last_beat_ <= liveness_timeout_;
}

void Health::SetReady(const std::string& component, bool ready, const std::string& reason) {
  std::lock_guard lock(mutex_);
  components_[component] = Component{.ready = ready, .reason = ready ? "" : reason};
}

void Health::SetDraining() {
  std::lock_guard lock(mutex_);
  draining_ = true;
}

bool Health::Draining() const {
  std::lock_guard lock(mutex_);
  return draining_;
}

Health::Readiness Health::Ready() const {
  std::lock_guard lock(mutex_);
  if (draining_) return {.ready = false, .detail = "draining"};
  std::string detail;
  for (const auto& [name, component] : components_) {
    if (component.ready) continue;
    if (!detail.empty()) detail += "; ";
    detail += name + ": " + (component.reason.empty() ? "not ready" : component.reason);
  }
  return {.ready = detail.empty(), .detail = detail};
}

}  // namespace redrive::runtime
