#include "core/metrics/worker_metrics.hpp"

namespace redrive::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

// From 1 ms to ~2 min: a gateway call, a whole event, or an order waiting on retries.
const Histogram::BucketBoundaries& LatencyBuckets() {
  static const Histogram::BucketBoundaries kBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
  return kBuckets;
}

}  // namespace

std::string StatusClass(int status) {
  if (status < 100 || status > 599) return "error";
  return std::to_string(status / 100) + "xx";
}

WorkerMetrics::WorkerMetrics(Registry& registry, const std::string& consumer_name)
    : consumer(consumer_name),
      events_total(BuildCounter()
                       .Name("redrive_worker_events_total")
                       .Help("Events a worker finished handling, by outcome.")
                       .Register(registry.registry())),
      event_duration_seconds(BuildHistogram()
                                 .Name("redrive_worker_event_duration_seconds")
                                 .Help("Time from claiming an event to finishing it.")
                                 .Register(registry.registry())
                                 .Add({{"consumer", consumer_name}}, LatencyBuckets())),
      inflight(BuildGauge()
                   .Name("redrive_worker_inflight")
                   .Help("Events claimed and not yet finished by this process.")
                   .Register(registry.registry())
                   .Add({{"consumer", consumer_name}})),
      claims_total(BuildCounter()
                       .Name("redrive_worker_claims_total")
                       .Help("Outbox rows this process claimed.")
                       .Register(registry.registry())
                       .Add({{"consumer", consumer_name}})),
      dead_letters_total(BuildCounter()
                             .Name("redrive_dead_letters_total")
                             .Help("Events moved to the dead-letter table, by reason.")
                             .Register(registry.registry())),
      gateway_requests_total(BuildCounter()
                                 .Name("redrive_gateway_requests_total")
                                 .Help("Requests to the payment gateway, by HTTP status class.")
                                 .Register(registry.registry())),
      gateway_request_duration_seconds(
          BuildHistogram()
              .Name("redrive_gateway_request_duration_seconds")
              .Help("Duration of payment gateway requests, failures included.")
              .Register(registry.registry())
              .Add({}, LatencyBuckets())),
      circuit_breaker_state(BuildGauge()
                                .Name("redrive_circuit_breaker_state")
                                .Help("Circuit breaker state: 0 closed, 1 half-open, 2 open.")
                                .Register(registry.registry())
                                .Add({{"target", "gateway"}})),
      order_payment_latency_seconds(
          BuildHistogram()
              .Name("redrive_order_payment_latency_seconds")
              .Help("Time from an order's creation to its PAID or FAILED state.")
              .Register(registry.registry())
              .Add({}, LatencyBuckets())),
      database_errors_total(BuildCounter()
                                .Name("redrive_worker_database_errors_total")
                                .Help("Database operations that failed and were retried or "
                                      "abandoned.")
                                .Register(registry.registry())
                                .Add({{"consumer", consumer_name}})) {}

prometheus::Counter& WorkerMetrics::Events(const std::string& outcome) {
  return events_total.Add({{"consumer", consumer}, {"outcome", outcome}});
}

prometheus::Counter& WorkerMetrics::DeadLetters(const std::string& reason) {
  return dead_letters_total.Add({{"consumer", consumer}, {"reason", reason}});
}

prometheus::Counter& WorkerMetrics::GatewayRequests(int status) {
  return gateway_requests_total.Add({{"status_class", StatusClass(status)}});
}

}  // namespace redrive::metrics
