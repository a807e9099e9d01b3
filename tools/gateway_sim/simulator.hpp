#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/domain/clock.hpp"
#include "tools/gateway_sim/charge.hpp"
#include "tools/gateway_sim/charge_store.hpp"
#include "tools/gateway_sim/faults.hpp"

// What the gateway answers, decided without touching a socket: the Beast edge turns a
// request into one of these calls and a Reply back into bytes (and waits, holds or drops
// the connection when told to).
namespace redrive::gateway_sim {

struct Reply {
  int status = 200;
  std::string body;  // JSON
  std::vector<std::pair<std::string, std::string>> headers;
};

struct SimulatorSettings {
  FaultKnobs knobs;
  std::chrono::seconds key_ttl{86400};
  std::uint64_t seed = 1;
};

// The first half of a POST /v1/charges, decided when the request arrives. The edge reads
// `hold` and `delay` and hands the ticket back to FinishCharge; the rest is the
// simulator's.
struct ChargeTicket {
  bool hold = false;  // never answer; keep the connection until the client gives up
  std::chrono::milliseconds delay{0};  // wait this long (on a timer), then FinishCharge

  enum class Stage { kAnswer, kExecute, kReplay };
  Stage stage = Stage::kAnswer;
  Fault fault = Fault::kNone;
  std::string key;
  ChargeRequest request;
  Reply answer;  // kAnswer: already decided at arrival (400, 409, 422, 500 before charge)
  std::optional<Charge> replay;
};

struct ChargeOutcome {
  Reply reply;
  bool drop_connection = false;    // close without answering, after the charge was recorded
  std::optional<Charge> executed;  // set when this request executed a charge, for the log
  Fault fault = Fault::kNone;
};

// Thread-safe: one mutex guards the store, the random source and the knobs, so the edge
// can run any number of io_context threads.
class Simulator {
 public:
  Simulator(const Clock& clock, RandomSource& random, SimulatorSettings settings);

  // `idempotency_key` is nullopt when the header is absent.
  ChargeTicket AdmitCharge(const std::optional<std::string>& idempotency_key,
                           std::string_view body);
  ChargeOutcome FinishCharge(const ChargeTicket& ticket);

  // GET /v1/charges?idempotency_key=K: 200 charge, 404 never seen (or expired), 409 while
  // the first request is still running (its outcome is not known yet).
  Reply LookupCharge(const std::optional<std::string>& idempotency_key);
  // GET /v1/ledger: the test oracle for "never charged twice".
  Reply Ledger();
  Reply Faults();
  Reply UpdateFaults(std::string_view body);

  FaultKnobs Knobs();

 private:
  const Clock& clock_;
  RandomSource& random_;
  const std::uint64_t seed_;
  std::mutex mutex_;
  FaultKnobs knobs_;
  ChargeStore store_;
  std::uint64_t charges_executed_ = 0;
};

}  // namespace redrive::gateway_sim
