#include "tests/support/invariants.hpp"

#include <cctype>
#include <cstddef>

namespace redrive::testing {
namespace {

bool Settled(const std::string& state) {
  return state == "PAID" || state == "FAILED" || state == "NEEDS_REVIEW";
}

// Lists at most three offenders, so a report of thousands stays one line.
class Offenders {
 public:
  void Add(const std::string& what) {
    if (count_++ < 3) listed_ += (listed_.empty() ? "" : ", ") + what;
  }
  bool empty() const { return count_ == 0; }
  std::string Describe(const std::string& noun) const {
    return std::to_string(count_) + " " + noun + (count_ > 3 ? " (first: " : " (") + listed_ + ")";
  }

 private:
  std::size_t count_ = 0;
  std::string listed_;
};

InvariantResult Result(std::string id, std::string name, bool held, std::string detail) {
  return InvariantResult{
      .id = std::move(id), .name = std::move(name), .held = held, .detail = std::move(detail)};
}

bool PassesLuhn(std::string_view digits) {
  int sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int digit = *it - '0';
    if (twice) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
    twice = !twice;
  }
  return sum % 10 == 0;
}

}  // namespace

std::vector<InvariantResult> CheckInvariants(const RunObservations& run) {
  std::vector<InvariantResult> results;
  const std::string orders = std::to_string(run.orders.size()) + " orders";

  Offenders unsettled;
  for (const auto& order : run.orders) {
    if (!Settled(order.state)) unsettled.Add(order.id + " " + order.state);
  }
  results.push_back(Result("I1", "every order reached PAID, FAILED or NEEDS_REVIEW",
                           unsettled.empty(),
                           unsettled.empty() ? orders : unsettled.Describe("unsettled")));

  Offenders charged_twice;
  for (const auto& order : run.orders) {
    if (order.captures > 1) {
      charged_twice.Add(order.id + " x" + std::to_string(order.captures));
    }
  }
  for (const auto& id : run.orders_settled_twice) charged_twice.Add(id + " settled twice");
  results.push_back(Result("I2", "no order was charged or settled twice", charged_twice.empty(),
                           charged_twice.empty() ? orders : charged_twice.Describe("doubled")));

  Offenders disagree;
  for (const auto& order : run.orders) {
    if (order.state == "PAID" && order.captures != 1)
      disagree.Add(order.id + " PAID, not captured");
    if (order.state == "FAILED" && order.captures != 0)
      disagree.Add(order.id + " FAILED, captured");
  }
  for (const auto& id : run.captures_of_unknown_orders) disagree.Add(id + " unknown, captured");
  results.push_back(Result(
      "I3", "the database agrees with the gateway", disagree.empty(),
      disagree.empty() ? "PAID = one capture, FAILED = none" : disagree.Describe("disagreements")));

  results.push_back(Result("I4",
                           "no event was lost: every outbox row was processed or dead-lettered",
                           run.pending_outbox_rows == 0,
                           std::to_string(run.pending_outbox_rows) + " outbox rows still pending"));

  results.push_back(Result("I5", "every dead letter has a reason and attempts",
                           run.dead_letters_without_reason == 0,
                           std::to_string(run.dead_letters_without_reason) +
                               " dead letters without a reason or attempts"));

  results.push_back(Result(
      "I6", "order versions only grew, with an audit row for each re-drive",
      run.audit_rows_with_bad_versions == 0,
      std::to_string(run.audit_rows_with_bad_versions) + " audit rows whose version did not grow"));

  results.push_back(Result("I7", "the backlog drained below its threshold",
                           run.backlog <= run.backlog_threshold,
                           std::to_string(run.backlog) + " pending (threshold " +
                               std::to_string(run.backlog_threshold) + ")"));

  results.push_back(Result(
      "I8", "no secret or card-like number in any log line", run.log_lines_with_secrets == 0,
      run.log_lines_with_secrets == 0 ? "0 lines"
                                      : std::to_string(run.log_lines_with_secrets) +
                                            " lines (first at " + run.first_secret_leak + ")"));
  return results;
}

bool LeaksSecret(std::string_view line, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    if (!secret.empty() && line.find(secret) != std::string_view::npos) return true;
  }
  std::size_t start = 0;
  while (start < line.size()) {
    if (!std::isdigit(static_cast<unsigned char>(line[start]))) {
      ++start;
      continue;
    }
    std::size_t end = start;
    while (end < line.size() && std::isdigit(static_cast<unsigned char>(line[end]))) ++end;
    const auto run = line.substr(start, end - start);
    if (run.size() >= 13 && run.size() <= 19 && PassesLuhn(run)) return true;
    start = end;
  }
  return false;
}

}  // namespace redrive::testing
