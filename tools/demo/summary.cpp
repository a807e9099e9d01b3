#include "tools/demo/summary.hpp"

#include <set>
#include <sstream>

namespace redrive::demo {

WebhookCheck CheckWebhooks(const std::vector<testing::ReceivedRequest>& requests,
                           const std::string& secret) {
  WebhookCheck check;
  std::set<std::string> events;
  for (const auto& request : requests) {
    ++check.deliveries;
    if (request.Header("x-redrive-signature") ==
        testing::SubscriberSignature(secret, request.body)) {
      ++check.valid_signatures;
    }
    events.insert(request.Header("x-redrive-event-id"));
  }
  check.distinct_events = events.size();
  return check;
}

testing::InvariantResult WebhookResult(const Summary& summary) {
  const auto& check = summary.webhooks;
  const bool signed_ok = check.valid_signatures == check.deliveries;
  const bool all_arrived =
      static_cast<std::int64_t>(check.distinct_events) >= summary.webhook_events_completed;
  return testing::InvariantResult{
      .id = "W",
      .name = "every completed webhook event reached the subscriber, correctly signed",
      .held = signed_ok && all_arrived,
      .detail = std::to_string(check.deliveries) + " deliveries of " +
                std::to_string(check.distinct_events) + " events for " +
                std::to_string(summary.webhook_events_completed) + " completed, " +
                std::to_string(check.deliveries - check.valid_signatures) + " badly signed"};
}

bool Passed(const Summary& summary) {
  for (const auto& result : summary.invariants) {
    if (!result.held) return false;
  }
  return WebhookResult(summary).held;
}

std::string RenderSummary(const Summary& summary) {
  std::ostringstream out;
  out << "\n=== redrive demo summary ===\n\n";
  out << "ran " << static_cast<long long>(summary.seconds) << " s, placed " << summary.placed
      << " orders";
  if (summary.place_errors > 0) out << " (" << summary.place_errors << " inserts failed)";
  out << "\norders:";
  for (const auto& [state, count] : summary.orders_by_state) out << " " << state << " " << count;
  out << "\nre-drives:";
  if (summary.redrives_by_rule.empty()) out << " none";
  for (const auto& [rule, count] : summary.redrives_by_rule) out << " " << rule << " " << count;
  out << "\nopen dead letters: " << summary.open_dead_letters << "\n";
  for (const auto& event : summary.demo_events) out << "  " << event << "\n";

  out << "\ninvariants (the reliability suite's, checked on this run):\n";
  auto rows = summary.invariants;
  rows.push_back(WebhookResult(summary));
  for (const auto& result : rows) {
    out << "  " << (result.held ? "PASS" : "FAIL") << "  " << result.id << "  " << result.name
        << " — " << result.detail << "\n";
  }
  out << "result: " << (Passed(summary) ? "every invariant held" : "AN INVARIANT FAILED") << "\n";

  out << "\nmetrics endpoints (served while the demo ran):\n";
  for (const auto& [name, url] : summary.metrics_urls) out << "  " << name << "  " << url << "\n";
  if (!summary.prometheus_url.empty()) {
    out << "  prometheus  " << summary.prometheus_url << " (shipped alert rules loaded; firing at "
        << "the end: ";
    if (summary.firing_alerts.empty()) out << "none";
    for (std::size_t i = 0; i < summary.firing_alerts.size(); ++i) {
      out << (i == 0 ? "" : ", ") << summary.firing_alerts[i];
    }
    out << ")\n";
  } else if (!summary.prometheus_note.empty()) {
    out << "  " << summary.prometheus_note << "\n";
  }

  out << "\nexplore with redrivectl (run against the demo database before it stopped):\n";
  for (const auto& [command, output] : summary.explored) {
    out << "\n$ " << command << "\n" << output;
    if (!output.empty() && output.back() != '\n') out << "\n";
  }
  out << "\nlogs and configuration: " << summary.folder << "\n";
  out << "every process the demo started has been stopped.\n";
  return out.str();
}

}  // namespace redrive::demo
