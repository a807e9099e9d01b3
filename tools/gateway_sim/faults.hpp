#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

// The simulator's fault knobs and the per-request decisions they drive. Pure: randomness
// comes from an injected source, so tests script it and a seed reproduces a run.
namespace redrive::gateway_sim {

struct FaultKnobs {
  std::int64_t latency_ms = 0;           // delay before answering a charge
  double decline_rate = 0.0;             // share of keys whose charge is declined
  double error_rate = 0.0;               // 500 before charging: nothing recorded
  double error_after_charge_rate = 0.0;  // charge recorded, then 500
  double drop_response_rate = 0.0;       // charge recorded, then the connection closes
  double timeout_rate = 0.0;             // never answered, nothing charged
  double rate_limit_rate = 0.0;          // 429 with Retry-After: 1 before charging
};

// Every problem at once, each naming the knob as the flag and the admin body spell it.
std::vector<std::string> ValidateKnobs(const FaultKnobs& knobs);

// Applies a JSON object holding any subset of the knob names. Unknown names, wrong types
// and out-of-range values are errors, and then nothing changes: a typo in a test's knob
// must fail loudly rather than leave the gateway in a state the test did not ask for.
boost::system::result<FaultKnobs, std::string> ApplyFaultPatch(const FaultKnobs& current,
                                                               std::string_view json);
std::string FaultKnobsJson(const FaultKnobs& knobs);

// Uniform numbers in [0, 1).
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual double NextUnit() = 0;
};

// The production source: deterministic for a seed, so a failing run can be replayed.
class SeededRandom final : public RandomSource {
 public:
  explicit SeededRandom(std::uint64_t seed) : engine_(seed) {}
  double NextUnit() override;

 private:
  std::mt19937_64 engine_;
};

// At most one fault per request. Exactly one number is drawn per knob, in a fixed order,
// whatever the knobs say, so a seed yields the same sequence when knobs change at runtime.
enum class Fault {
  kNone,
  kHold,
  kRateLimited,
  kErrorBeforeCharge,
  kErrorAfterCharge,
  kDropResponse
};
std::string_view ToString(Fault fault);
Fault DecideFault(const FaultKnobs& knobs, RandomSource& random);

// Whether the charge under `key` is declined: a function of the seed and the key only, so
// the outcome does not depend on the order in which concurrent requests arrive.
bool DecidesDecline(std::uint64_t seed, std::string_view key, double decline_rate);

// A charge id ("ch_" + 16 hex digits), unique per sequence number for a given seed.
std::string ChargeId(std::uint64_t seed, std::uint64_t sequence);

}  // namespace redrive::gateway_sim
