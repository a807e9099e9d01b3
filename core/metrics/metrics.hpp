#pragma once

#include <prometheus/registry.h>

#include <memory>
#include <string>

#include "core/metrics/process_metrics.hpp"

// Every metric family redrive exports is declared in this folder, so names, label sets and
// help texts are reviewed in one place and dashboards/alerts can be checked against it.
//
// Conventions (STYLE.md rule 10): names start with redrive_, base units (seconds, bytes),
// counters end in _total, labels have bounded values (never an order or event id).
//
// Adding families: declare a struct here that builds its families from a Registry once at
// start-up and holds references to the children the hot path touches, e.g.
//
//   struct WorkerMetrics {
//     explicit WorkerMetrics(Registry& registry);
//     prometheus::Family<prometheus::Counter>& events_total;  // {consumer,outcome}
//   };
//
// Worker and controller families are added by the issues that introduce those loops.
namespace redrive::metrics {

struct BuildInfo {
  std::string component;  // "worker", "controller", "gateway-sim", ...
  std::string version;    // the release, e.g. "0.1.0"
};

// Owns the process's prometheus registry and renders it, with the process_* metrics,
// for /metrics. Thread-safe: families may be updated from any thread while a scrape runs.
class Registry {
 public:
  explicit Registry(const BuildInfo& build);
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Where families are built: prometheus::BuildCounter().Name(...).Register(registry()).
  prometheus::Registry& registry() { return *registry_; }
  const std::shared_ptr<prometheus::Registry>& shared() const { return registry_; }

  // Everything in Prometheus text exposition format 0.0.4. Reads /proc/self.
  std::string Serialize() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  ProcessCollector process_;
};

}  // namespace redrive::metrics
