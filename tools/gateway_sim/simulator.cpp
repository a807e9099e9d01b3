#include "tools/gateway_sim/simulator.hpp"

#include <nlohmann/json.hpp>
#include <type_traits>
#include <variant>

namespace redrive::gateway_sim {
namespace {

Reply ErrorReply(int status, std::string_view code, std::string_view message) {
  return Reply{.status = status, .body = ErrorJson(code, message), .headers = {}};
}

// Both injected 500s read the same, so a client cannot tell whether it was charged: it
// must settle the outcome through the idempotency key, as with a real gateway.
Reply SimulatedFailure() {
  return ErrorReply(500, "internal_error", "simulated gateway failure");
}

Reply ChargeReply(const Charge& charge, bool replayed) {
  Reply reply{.status = 200, .body = ChargeJson(charge), .headers = {}};
  // Stripe's header: lets a client (and a human reading a capture) see a replay.
  if (replayed) reply.headers.emplace_back("Idempotent-Replayed", "true");
  return reply;
}

}  // namespace

Simulator::Simulator(const Clock& clock, RandomSource& random, SimulatorSettings settings)
    : clock_(clock),
      random_(random),
      seed_(settings.seed),
      knobs_(settings.knobs),
      store_(clock, settings.key_ttl) {}

ChargeTicket Simulator::AdmitCharge(const std::optional<std::string>& idempotency_key,
                                    std::string_view body) {
  ChargeTicket ticket;
  // Malformed requests are answered at once, before faults or latency: they never reach
  // the part of the gateway that is slow or failing.
  if (!idempotency_key) {
    ticket.answer =
        ErrorReply(400, "missing_idempotency_key", "the Idempotency-Key header is required");
    return ticket;
  }
  if (auto problem = CheckIdempotencyKey(*idempotency_key)) {
    ticket.answer = ErrorReply(400, "invalid_idempotency_key", *problem);
    return ticket;
  }
  auto request = ParseChargeRequest(body);
  if (!request) {
    ticket.answer = ErrorReply(400, "invalid_request", request.error());
    return ticket;
  }

  std::lock_guard lock(mutex_);
  ticket.key = *idempotency_key;
  ticket.request = std::move(*request);
  ticket.fault = DecideFault(knobs_, random_);
  ticket.delay = std::chrono::milliseconds(knobs_.latency_ms);
  if (ticket.fault == Fault::kHold) {
    ticket.hold = true;
    return ticket;
  }
  if (ticket.fault == Fault::kErrorBeforeCharge) {
    ticket.answer = SimulatedFailure();
    return ticket;
  }
  if (ticket.fault == Fault::kRateLimited) {
    ticket.answer = ErrorReply(429, "rate_limited", "too many requests; retry after 1 second");
    ticket.answer.headers.emplace_back("Retry-After", "1");
    return ticket;
  }
  std::visit(
      [&](auto&& begun) {
        using T = std::decay_t<decltype(begun)>;
        if constexpr (std::is_same_v<T, ChargeStore::Reserved>) {
          ticket.stage = ChargeTicket::Stage::kExecute;
        } else if constexpr (std::is_same_v<T, ChargeStore::Replay>) {
          ticket.stage = ChargeTicket::Stage::kReplay;
          ticket.replay = std::move(begun.charge);
        } else if constexpr (std::is_same_v<T, ChargeStore::InFlight>) {
          ticket.answer = ErrorReply(409, "request_in_flight",
                                     "a request with this Idempotency-Key is still in progress");
        } else {
          ticket.answer = ErrorReply(422, "idempotency_key_reused",
                                     "this Idempotency-Key was used with different parameters");
        }
      },
      store_.Begin(ticket.key, ticket.request));
  return ticket;
}

ChargeOutcome Simulator::FinishCharge(const ChargeTicket& ticket) {
  ChargeOutcome outcome;
  outcome.fault = ticket.fault;
  switch (ticket.stage) {
    case ChargeTicket::Stage::kAnswer:
      outcome.reply = ticket.answer;
      return outcome;
    case ChargeTicket::Stage::kReplay:
      outcome.reply = ChargeReply(*ticket.replay, /*replayed=*/true);
      break;
    case ChargeTicket::Stage::kExecute: {
      std::lock_guard lock(mutex_);
      // The charge executes when the latency has passed, whether or not the client is
      // still waiting: a client that timed out may still have been charged.
      Charge charge{
          .id = ChargeId(seed_, charges_executed_++),
          .status = DecidesDecline(seed_, ticket.key, knobs_.decline_rate)
                        ? ChargeStatus::kDeclined
                        : ChargeStatus::kSucceeded,
          .request = ticket.request,
      };
      store_.Record(ticket.key, charge);
      outcome.reply = ChargeReply(charge, /*replayed=*/false);
      outcome.executed = std::move(charge);
      break;
    }
  }
  // After-charge faults apply to replays too: a lost reply does not care whether the
  // charge behind it was new.
  if (ticket.fault == Fault::kErrorAfterCharge) outcome.reply = SimulatedFailure();
  if (ticket.fault == Fault::kDropResponse) {
    outcome.reply = Reply{};
    outcome.drop_connection = true;
  }
  return outcome;
}

Reply Simulator::LookupCharge(const std::optional<std::string>& idempotency_key) {
  if (!idempotency_key) {
    return ErrorReply(400, "missing_idempotency_key",
                      "the idempotency_key query parameter is required");
  }
  if (auto problem = CheckIdempotencyKey(*idempotency_key)) {
    return ErrorReply(400, "invalid_idempotency_key", *problem);
  }
  std::lock_guard lock(mutex_);
  const auto found = store_.Find(*idempotency_key);
  if (const auto* charge = std::get_if<Charge>(&found)) return ChargeReply(*charge, false);
  if (std::holds_alternative<ChargeStore::InFlight>(found)) {
    return ErrorReply(409, "request_in_flight",
                      "a request with this Idempotency-Key is still in progress");
  }
  return ErrorReply(404, "not_found", "no charge was made with this Idempotency-Key");
}

Reply Simulator::Ledger() {
  nlohmann::ordered_json orders = nlohmann::ordered_json::object();
  {
    std::lock_guard lock(mutex_);
    for (const auto& [order_id, entry] : store_.Orders()) {
      orders[order_id] = {{"captures", entry.captures}, {"status", ToString(entry.latest)}};
    }
  }
  nlohmann::ordered_json json;
  json["orders"] = std::move(orders);
  return Reply{.status = 200,
               .body = json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
               .headers = {}};
}

Reply Simulator::Faults() {
  return Reply{.status = 200, .body = FaultKnobsJson(Knobs()), .headers = {}};
}

Reply Simulator::UpdateFaults(std::string_view body) {
  std::lock_guard lock(mutex_);
  auto patched = ApplyFaultPatch(knobs_, body);
  if (!patched) return ErrorReply(400, "invalid_faults", patched.error());
  knobs_ = *patched;
  return Reply{.status = 200, .body = FaultKnobsJson(knobs_), .headers = {}};
}

FaultKnobs Simulator::Knobs() {
  std::lock_guard lock(mutex_);
  return knobs_;
}

}  // namespace redrive::gateway_sim
