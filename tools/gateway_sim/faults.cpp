#include "tools/gateway_sim/faults.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace redrive::gateway_sim {
namespace {

// The 64-bit finaliser of splitmix64: a bijection that spreads every input bit.
std::uint64_t Mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// FNV-1a: stable across platforms and standard libraries, unlike std::hash.
std::uint64_t HashKey(std::string_view key) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : key) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

double ToUnit(std::uint64_t bits) {
  // The top 53 bits fill a double's mantissa exactly: uniform in [0, 1).
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

struct RateKnob {
  std::string_view name;
  double FaultKnobs::*member;
};

constexpr RateKnob kRateKnobs[] = {
    {"decline_rate", &FaultKnobs::decline_rate},
    {"error_rate", &FaultKnobs::error_rate},
    {"error_after_charge_rate", &FaultKnobs::error_after_charge_rate},
    {"drop_response_rate", &FaultKnobs::drop_response_rate},
    {"timeout_rate", &FaultKnobs::timeout_rate},
    {"rate_limit_rate", &FaultKnobs::rate_limit_rate},
};

// An hour: longer is not a latency, it is the timeout knob.
constexpr std::int64_t kMaxLatencyMs = 3'600'000;

using PatchResult = boost::system::result<FaultKnobs, std::string>;

PatchResult PatchError(std::string message) {
  return PatchResult(boost::system::in_place_error, std::move(message));
}

}  // namespace

std::vector<std::string> ValidateKnobs(const FaultKnobs& knobs) {
  std::vector<std::string> errors;
  if (knobs.latency_ms < 0 || knobs.latency_ms > kMaxLatencyMs) {
    errors.push_back("latency_ms must be between 0 and 3600000");
  }
  for (const RateKnob& knob : kRateKnobs) {
    const double value = knobs.*knob.member;
    // Written so that NaN fails too.
    if (!(value >= 0.0 && value <= 1.0)) {
      errors.push_back(std::string(knob.name) + " must be between 0 and 1");
    }
  }
  return errors;
}

PatchResult ApplyFaultPatch(const FaultKnobs& current, std::string_view json_text) {
  const auto json = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return PatchError("body is not valid JSON");
  if (!json.is_object()) return PatchError("body must be a JSON object");
  FaultKnobs knobs = current;
  for (const auto& [name, value] : json.items()) {
    if (name == "latency_ms") {
      if (!value.is_number_integer()) return PatchError("latency_ms must be an integer");
      if (value.is_number_unsigned() && value.get<std::uint64_t>() > kMaxLatencyMs) {
        return PatchError("latency_ms must be between 0 and 3600000");
      }
      knobs.latency_ms = value.get<std::int64_t>();
      continue;
    }
    bool known = false;
    for (const RateKnob& knob : kRateKnobs) {
      if (name != knob.name) continue;
      if (!value.is_number()) return PatchError(name + " must be a number");
      knobs.*knob.member = value.get<double>();
      known = true;
    }
    if (!known) return PatchError("unknown knob: " + name);
  }
  if (auto errors = ValidateKnobs(knobs); !errors.empty()) return PatchError(errors.front());
  return knobs;
}

std::string FaultKnobsJson(const FaultKnobs& knobs) {
  nlohmann::ordered_json json;
  json["latency_ms"] = knobs.latency_ms;
  for (const RateKnob& knob : kRateKnobs) json[std::string(knob.name)] = knobs.*knob.member;
  return json.dump();
}

double SeededRandom::NextUnit() {
  return ToUnit(engine_());
}

std::string_view ToString(Fault fault) {
  switch (fault) {
    case Fault::kNone:
      return "none";
    case Fault::kHold:
      return "timeout";
    case Fault::kRateLimited:
      return "rate_limited";
    case Fault::kErrorBeforeCharge:
      return "error_before_charge";
    case Fault::kErrorAfterCharge:
      return "error_after_charge";
    case Fault::kDropResponse:
      return "drop_response";
  }
  return "none";
}

Fault DecideFault(const FaultKnobs& knobs, RandomSource& random) {
  const bool hold = random.NextUnit() < knobs.timeout_rate;
  const bool error_before = random.NextUnit() < knobs.error_rate;
  const bool error_after = random.NextUnit() < knobs.error_after_charge_rate;
  const bool drop = random.NextUnit() < knobs.drop_response_rate;
  const bool rate_limited = random.NextUnit() < knobs.rate_limit_rate;
  // Precedence follows the request's life: a request that is never processed cannot fail
  // later, one turned away at the door is never processed, and one that fails before the
  // charge cannot lose its reply after it.
  if (hold) return Fault::kHold;
  if (rate_limited) return Fault::kRateLimited;
  if (error_before) return Fault::kErrorBeforeCharge;
  if (error_after) return Fault::kErrorAfterCharge;
  if (drop) return Fault::kDropResponse;
  return Fault::kNone;
}

bool DecidesDecline(std::uint64_t seed, std::string_view key, double decline_rate) {
  return ToUnit(Mix(seed ^ Mix(HashKey(key)))) < decline_rate;
}

std::string ChargeId(std::uint64_t seed, std::uint64_t sequence) {
  // Mix is a bijection, and seed + sequence * odd is injective in sequence: no collisions.
  const std::uint64_t bits = Mix(seed + sequence * 0xd1b54a32d192ed03ULL);
  char buffer[3 + 16 + 1];
  std::snprintf(buffer, sizeof buffer, "ch_%016llx", static_cast<unsigned long long>(bits));
  return buffer;
}

}  // namespace redrive::gateway_sim
