// The gateway simulator's pure logic: the idempotency store, the ledger and the fault
// decisions, driven by a FakeClock and a scripted random source. No sockets, no sleeping.
#include <doctest/doctest.h>

#include <chrono>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "tests/support/fake_clock.hpp"
#include "tools/gateway_sim/charge.hpp"
#include "tools/gateway_sim/charge_store.hpp"
#include "tools/gateway_sim/faults.hpp"
#include "tools/gateway_sim/listen_address.hpp"
#include "tools/gateway_sim/simulator.hpp"

namespace redrive::gateway_sim {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

// Returns the scripted numbers, then `fallback` forever.
class ScriptedRandom final : public RandomSource {
 public:
  explicit ScriptedRandom(std::deque<double> script = {}, double fallback = 0.5)
      : script_(std::move(script)), fallback_(fallback) {}
  double NextUnit() override {
    if (script_.empty()) return fallback_;
    const double next = script_.front();
    script_.pop_front();
    return next;
  }

 private:
  std::deque<double> script_;
  double fallback_;
};

std::string Body(const std::string& order_id, std::int64_t amount_cents = 1250,
                 const std::string& currency = "EUR") {
  return Json{{"order_id", order_id}, {"amount_cents", amount_cents}, {"currency", currency}}
      .dump();
}

// One whole POST /v1/charges, with the latency (if any) already elapsed.
ChargeOutcome Charge(Simulator& simulator, const std::string& key, const std::string& body) {
  return simulator.FinishCharge(simulator.AdmitCharge(key, body));
}

Json Ledger(Simulator& simulator) {
  return Json::parse(simulator.Ledger().body);
}

struct Fixture {
  explicit Fixture(FaultKnobs knobs = {}, std::chrono::seconds ttl = 86400s)
      : simulator(clock, random, {.knobs = knobs, .key_ttl = ttl, .seed = 7}) {}
  testing::FakeClock clock;
  ScriptedRandom random;
  Simulator simulator;
};

TEST_CASE("the same key with the same body returns the same result and captures once") {
  Fixture f;
  const auto first = Charge(f.simulator, "order-1", Body("order-1"));
  const auto second = Charge(f.simulator, "order-1", Body("order-1"));
  REQUIRE(first.reply.status == 200);
  REQUIRE(second.reply.status == 200);
  CHECK(first.executed.has_value());
  CHECK_FALSE(second.executed.has_value());
  CHECK(Json::parse(second.reply.body) == Json::parse(first.reply.body));
  CHECK(Json::parse(first.reply.body)["status"] == "succeeded");
  CHECK(Ledger(f.simulator)["orders"]["order-1"]["captures"] == 1);
}

TEST_CASE("a replay is equal by parameters, not by bytes, and says it is a replay") {
  Fixture f;
  Charge(f.simulator, "k", R"({"order_id":"o","amount_cents":5,"currency":"USD"})");
  const auto replay =
      Charge(f.simulator, "k", R"({ "currency":"USD", "amount_cents":5, "order_id":"o", "x":1 })");
  CHECK(replay.reply.status == 200);
  CHECK(replay.reply.headers ==
        std::vector<std::pair<std::string, std::string>>{{"Idempotent-Replayed", "true"}});
  CHECK(Ledger(f.simulator)["orders"]["o"]["captures"] == 1);
}

TEST_CASE("the same key with a different body is rejected with 422 and charges nothing more") {
  Fixture f;
  Charge(f.simulator, "order-1", Body("order-1", 1250));
  CHECK(Charge(f.simulator, "order-1", Body("order-1", 9999)).reply.status == 422);
  CHECK(Charge(f.simulator, "order-1", Body("order-2", 1250)).reply.status == 422);
  CHECK(Charge(f.simulator, "order-1", Body("order-1", 1250, "USD")).reply.status == 422);
  const Json ledger = Ledger(f.simulator);
  CHECK(ledger["orders"].size() == 1);
  CHECK(ledger["orders"]["order-1"]["captures"] == 1);
}

TEST_CASE("the same key while the first request is in flight is rejected with 409") {
  Fixture f(FaultKnobs{.latency_ms = 300});
  const ChargeTicket first = f.simulator.AdmitCharge("order-1", Body("order-1"));
  CHECK(first.delay == 300ms);
  const ChargeTicket second = f.simulator.AdmitCharge("order-1", Body("order-1"));
  const auto conflict = f.simulator.FinishCharge(second);
  CHECK(conflict.reply.status == 409);
  CHECK(Json::parse(conflict.reply.body)["error"] == "request_in_flight");
  // Asking by key while the outcome is unknown is not "never seen".
  CHECK(f.simulator.LookupCharge("order-1").status == 409);

  CHECK(f.simulator.FinishCharge(first).reply.status == 200);
  CHECK(Charge(f.simulator, "order-1", Body("order-1")).reply.status == 200);
  CHECK(Ledger(f.simulator)["orders"]["order-1"]["captures"] == 1);
}

TEST_CASE("a key charges anew once its TTL has expired") {
  Fixture f(FaultKnobs{}, 60s);
  const auto first = Charge(f.simulator, "order-1", Body("order-1"));
  f.clock.Advance(59s);
  CHECK_FALSE(Charge(f.simulator, "order-1", Body("order-1")).executed.has_value());
  CHECK(f.simulator.LookupCharge("order-1").status == 200);

  f.clock.Advance(1s);
  CHECK(f.simulator.LookupCharge("order-1").status == 404);
  const auto again = Charge(f.simulator, "order-1", Body("order-1"));
  REQUIRE(again.executed.has_value());
  CHECK(again.executed->id != first.executed->id);
  // Exactly what redrive must prevent by stopping re-drives inside the retention.
  CHECK(Ledger(f.simulator)["orders"]["order-1"]["captures"] == 2);
}

TEST_CASE("retention counts from the charge, not from the request's arrival") {
  Fixture f(FaultKnobs{.latency_ms = 1000}, 60s);
  const ChargeTicket ticket = f.simulator.AdmitCharge("k", Body("o"));
  f.clock.Advance(120s);  // an in-flight key never expires under its request
  f.simulator.FinishCharge(ticket);
  f.clock.Advance(59s);
  CHECK(f.simulator.LookupCharge("k").status == 200);
  f.clock.Advance(1s);
  CHECK(f.simulator.LookupCharge("k").status == 404);
}

TEST_CASE("a decline rate of 1.0 declines every charge and captures nothing") {
  Fixture f(FaultKnobs{.decline_rate = 1.0});
  for (const std::string order : {"a", "b", "c"}) {
    const auto outcome = Charge(f.simulator, order, Body(order));
    CHECK(outcome.reply.status == 200);
    CHECK(Json::parse(outcome.reply.body)["status"] == "declined");
    CHECK(Ledger(f.simulator)["orders"][order] == Json{{"captures", 0}, {"status", "declined"}});
  }
}

TEST_CASE("the decline decision depends only on the seed and the key") {
  int declined = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "order-" + std::to_string(i);
    const bool first = DecidesDecline(42, key, 0.3);
    CHECK(DecidesDecline(42, key, 0.3) == first);
    declined += first ? 1 : 0;
    CHECK_FALSE(DecidesDecline(42, key, 0.0));
    CHECK(DecidesDecline(42, key, 1.0));
  }
  CHECK(declined > 230);
  CHECK(declined < 370);
}

TEST_CASE("the ledger counts captures per order across idempotency keys") {
  Fixture f;
  Charge(f.simulator, "key-1", Body("order-1"));
  Charge(f.simulator, "key-1", Body("order-1"));  // a replay: no new capture
  Charge(f.simulator, "key-2", Body("order-1"));  // a new key: the order is charged again
  Charge(f.simulator, "key-3", Body("order-2"));
  const Json ledger = Ledger(f.simulator);
  CHECK(ledger["orders"]["order-1"]["captures"] == 2);
  CHECK(ledger["orders"]["order-2"]["captures"] == 1);
  CHECK(ledger["orders"]["order-2"]["status"] == "succeeded");
}

TEST_CASE("requests without a key or with a malformed body are rejected with 400") {
  Fixture f;
  CHECK(Charge(f.simulator, "", Body("o")).reply.status == 400);
  CHECK(f.simulator.FinishCharge(f.simulator.AdmitCharge(std::nullopt, Body("o"))).reply.status ==
        400);
  CHECK(Charge(f.simulator, std::string(256, 'k'), Body("o")).reply.status == 400);
  for (const std::string body :
       {"", "{", "[]", "null", R"({"amount_cents":1,"currency":"EUR"})",
        R"({"order_id":"","amount_cents":1,"currency":"EUR"})",
        R"({"order_id":7,"amount_cents":1,"currency":"EUR"})",
        R"({"order_id":"o","amount_cents":0,"currency":"EUR"})",
        R"({"order_id":"o","amount_cents":-5,"currency":"EUR"})",
        R"({"order_id":"o","amount_cents":1.5,"currency":"EUR"})",
        R"({"order_id":"o","amount_cents":"100","currency":"EUR"})",
        R"({"order_id":"o","amount_cents":18446744073709551615,"currency":"EUR"})",
        R"({"order_id":"o","amount_cents":1,"currency":"EURO"})",
        R"({"order_id":"o","amount_cents":1,"currency":"E1R"})",
        R"({"order_id":"o","amount_cents":1})"}) {
    CAPTURE(body);
    const auto outcome = Charge(f.simulator, "k", body);
    CHECK(outcome.reply.status == 400);
    CHECK(Json::parse(outcome.reply.body)["error"] == "invalid_request");
  }
  // Nothing was reserved: the key is still free.
  CHECK(f.simulator.LookupCharge("k").status == 404);
  CHECK(Ledger(f.simulator)["orders"].empty());
}

TEST_CASE("an error before the charge answers 500 and records nothing") {
  Fixture f(FaultKnobs{.error_rate = 1.0});
  const auto outcome = Charge(f.simulator, "k", Body("o"));
  CHECK(outcome.reply.status == 500);
  CHECK_FALSE(outcome.executed.has_value());
  CHECK(f.simulator.LookupCharge("k").status == 404);
  CHECK(Ledger(f.simulator)["orders"].empty());
}

TEST_CASE("a rate-limited charge answers 429 with Retry-After and records nothing") {
  Fixture f(FaultKnobs{.rate_limit_rate = 1.0});
  const auto outcome = Charge(f.simulator, "k", Body("o"));
  CHECK(outcome.reply.status == 429);
  CHECK(outcome.reply.headers ==
        std::vector<std::pair<std::string, std::string>>{{"Retry-After", "1"}});
  CHECK_FALSE(outcome.executed.has_value());
  CHECK(f.simulator.LookupCharge("k").status == 404);
  CHECK(Ledger(f.simulator)["orders"].empty());
}

TEST_CASE("an error after the charge answers 500 yet the charge is recorded") {
  Fixture f(FaultKnobs{.error_after_charge_rate = 1.0});
  const auto outcome = Charge(f.simulator, "k", Body("o"));
  CHECK(outcome.reply.status == 500);
  CHECK(outcome.executed.has_value());
  CHECK(f.simulator.LookupCharge("k").status == 200);
  CHECK(Ledger(f.simulator)["orders"]["o"]["captures"] == 1);
}

TEST_CASE("a dropped response still records the charge, and a retry with the key replays it") {
  Fixture f(FaultKnobs{.drop_response_rate = 1.0});
  const auto dropped = Charge(f.simulator, "k", Body("o"));
  CHECK(dropped.drop_connection);
  REQUIRE(dropped.executed.has_value());
  const auto found = f.simulator.LookupCharge("k");
  CHECK(found.status == 200);
  CHECK(Json::parse(found.body)["id"] == dropped.executed->id);

  f.simulator.UpdateFaults(R"({"drop_response_rate": 0})");
  const auto retry = Charge(f.simulator, "k", Body("o"));
  CHECK(retry.reply.status == 200);
  CHECK(Json::parse(retry.reply.body)["id"] == dropped.executed->id);
  CHECK(Ledger(f.simulator)["orders"]["o"]["captures"] == 1);
}

TEST_CASE("a held request is never answered and charges nothing") {
  Fixture f(FaultKnobs{.timeout_rate = 1.0});
  const ChargeTicket ticket = f.simulator.AdmitCharge("k", Body("o"));
  CHECK(ticket.hold);
  CHECK(f.simulator.LookupCharge("k").status == 404);
  CHECK(Ledger(f.simulator)["orders"].empty());
}

TEST_CASE("faults are decided per request from the random source, one draw per knob") {
  const FaultKnobs knobs{.error_rate = 0.5, .error_after_charge_rate = 0.5};
  // Draws: timeout, error, error-after-charge, drop, rate limit.
  ScriptedRandom random(
      {0.9, 0.1, 0.1, 0.1, 0.1, /**/ 0.9, 0.9, 0.2, 0.9, 0.9, /**/ 0.9, 0.9, 0.9, 0.9, 0.9});
  CHECK(DecideFault(knobs, random) == Fault::kErrorBeforeCharge);
  CHECK(DecideFault(knobs, random) == Fault::kErrorAfterCharge);
  CHECK(DecideFault(knobs, random) == Fault::kNone);
  const FaultKnobs limited{.error_rate = 1.0, .rate_limit_rate = 0.5};
  ScriptedRandom door({0.9, 0.0, 0.9, 0.9, 0.1});
  CHECK(DecideFault(limited, door) == Fault::kRateLimited);  // turned away before the 500

  SeededRandom a(3);
  SeededRandom b(3);
  const FaultKnobs all{.error_rate = 0.3, .drop_response_rate = 0.3, .timeout_rate = 0.3};
  for (int i = 0; i < 100; ++i) CHECK(DecideFault(all, a) == DecideFault(all, b));
}

TEST_CASE("the faults patch changes only the named knobs and refuses bad input whole") {
  const FaultKnobs current{.latency_ms = 10, .error_rate = 1.0};
  const auto patched = ApplyFaultPatch(current, R"({"error_rate": 0, "latency_ms": 0})");
  REQUIRE(patched.has_value());
  CHECK(patched->error_rate == 0.0);
  CHECK(patched->latency_ms == 0);

  CHECK_FALSE(ApplyFaultPatch(current, R"({"error_rate": 1.5})").has_value());
  CHECK_FALSE(ApplyFaultPatch(current, R"({"eror_rate": 0})").has_value());
  CHECK_FALSE(ApplyFaultPatch(current, R"({"latency_ms": -1})").has_value());
  CHECK_FALSE(ApplyFaultPatch(current, R"({"latency_ms": 1.5})").has_value());
  CHECK_FALSE(ApplyFaultPatch(current, R"({"error_rate": "0"})").has_value());
  CHECK_FALSE(ApplyFaultPatch(current, "[]").has_value());

  Fixture f(current);
  CHECK(f.simulator.UpdateFaults(R"({"error_rate": 0, "timeout_rate": 2})").status == 400);
  CHECK(f.simulator.Knobs().error_rate == 1.0);
  CHECK(f.simulator.UpdateFaults(R"({"error_rate": 0})").status == 200);
  CHECK(Charge(f.simulator, "k", Body("o")).reply.status == 200);
}

TEST_CASE("charge ids are distinct") {
  std::set<std::string> ids;
  for (std::uint64_t i = 0; i < 10000; ++i) ids.insert(ChargeId(1, i));
  CHECK(ids.size() == 10000);
  CHECK(ChargeId(1, 0).rfind("ch_", 0) == 0);
}

TEST_CASE("the listen address is an IP literal and a port") {
  const auto v4 = ParseListenAddress("127.0.0.1:8090");
  REQUIRE(v4.has_value());
  CHECK(v4->host == "127.0.0.1");
  CHECK(v4->port == 8090);
  const auto v6 = ParseListenAddress("[::1]:0");
  REQUIRE(v6.has_value());
  CHECK(v6->host == "::1");
  CHECK_FALSE(ParseListenAddress("localhost:80").has_value());
  CHECK_FALSE(ParseListenAddress("127.0.0.1").has_value());
  CHECK_FALSE(ParseListenAddress("127.0.0.1:65536").has_value());
  CHECK_FALSE(ParseListenAddress("127.0.0.1:8x").has_value());
}

}  // namespace
}  // namespace redrive::gateway_sim
