#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/invariants.hpp"
#include "tests/support/webhook_receiver.hpp"

namespace redrive::demo {

struct WebhookCheck {
  std::size_t deliveries = 0;        // requests the subscriber received
  std::size_t valid_signatures = 0;  // of those, correctly signed with the shared secret
  std::size_t distinct_events = 0;   // X-Redrive-Event-Id values seen
};

// What the subscriber verified: every delivery's X-Redrive-Signature against the secret.
WebhookCheck CheckWebhooks(const std::vector<testing::ReceivedRequest>& requests,
                           const std::string& secret);

struct Summary {
  double seconds = 0;
  std::int64_t placed = 0;
  std::int64_t place_errors = 0;
  std::map<std::string, std::int64_t> orders_by_state;
  std::map<std::string, std::int64_t> redrives_by_rule;
  std::int64_t open_dead_letters = 0;
  std::vector<std::string> demo_events;  // kills, restarts, outages, in order
  std::vector<testing::InvariantResult> invariants;
  WebhookCheck webhooks;
  std::int64_t webhook_events_completed = 0;  // webhook outbox rows the worker completed
  std::vector<std::pair<std::string, std::string>> metrics_urls;  // process, URL
  std::string prometheus_url;
  std::string prometheus_note;
  std::vector<std::string> firing_alerts;
  std::string folder;
  std::vector<std::pair<std::string, std::string>> explored;  // command, its output
};

// The webhook row of the report: every completed event reached the subscriber and every
// delivery was signed correctly.
testing::InvariantResult WebhookResult(const Summary& summary);

// True when every invariant and the webhook check held.
bool Passed(const Summary& summary);

std::string RenderSummary(const Summary& summary);

}  // namespace redrive::demo
