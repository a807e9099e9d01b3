#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <string>

#include "core/metrics/metrics.hpp"

namespace redrive::metrics {

// The families a worker process exports. Built once at start-up; label values are bounded
// (consumer names, outcome and reason codes, status classes), never ids.
struct WorkerMetrics {
  WorkerMetrics(Registry& registry, const std::string& consumer);

  // outcome: completed | retried | dead_lettered | abandoned
  prometheus::Counter& Events(const std::string& outcome);
  prometheus::Counter& DeadLetters(const std::string& reason);
  // status_class: 2xx 4xx 5xx or "error" when there was no HTTP answer
  prometheus::Counter& GatewayRequests(int status);

  std::string consumer;
  prometheus::Family<prometheus::Counter>& events_total;
  prometheus::Histogram& event_duration_seconds;
  prometheus::Gauge& inflight;
  prometheus::Counter& claims_total;
  prometheus::Family<prometheus::Counter>& dead_letters_total;
  prometheus::Family<prometheus::Counter>& gateway_requests_total;
  prometheus::Histogram& gateway_request_duration_seconds;
  prometheus::Gauge& circuit_breaker_state;  // 0 closed, 1 half-open, 2 open
  prometheus::Histogram& order_payment_latency_seconds;
  prometheus::Counter& database_errors_total;
};

// "2xx", "4xx", "5xx", ... or "error" for 0 (no HTTP answer).
std::string StatusClass(int status);

}  // namespace redrive::metrics
