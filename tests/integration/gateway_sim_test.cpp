// gateway-sim as the workers and the controller see it: the real binary on loopback, spoken
// to over HTTP. No database.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

namespace redrive::testing {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

// A running gateway-sim on a free loopback port, killed and cleaned up by the destructor.
class GatewaySim {
 public:
  explicit GatewaySim(std::vector<std::string> flags = {})
      : port_(FreeLoopbackPort()), dir_(MakeTempDir("gateway-sim")) {
    std::vector<std::string> argv = {BinaryPath("gateway-sim"), "--listen",
                                     "127.0.0.1:" + std::to_string(port_), "--seed", "11"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    const std::string log = dir_ + "/gateway-sim.log";
    process_.emplace(argv, ProcessOptions{.env = {}, .stdout_path = log, .stderr_path = log});
    const bool up = WaitUntil([&] { return HttpGet(port_, "/healthz").status == 200; }, 20s);
    if (!up) INFO("gateway-sim log:\n" << ReadFile(log));
    REQUIRE(up);
  }
  ~GatewaySim() {
    process_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  GatewaySim(const GatewaySim&) = delete;
  GatewaySim& operator=(const GatewaySim&) = delete;

  int port() const { return port_; }
  ChildProcess& process() { return *process_; }

  HttpReply Charge(const std::string& key, const Json& body,
                   std::chrono::milliseconds timeout = 10s) const {
    std::map<std::string, std::string> headers = {{"Content-Type", "application/json"}};
    if (!key.empty()) headers["Idempotency-Key"] = key;
    return HttpRequest("POST", port_, "/v1/charges", body.dump(), headers, timeout);
  }
  Json Ledger() const {
    const HttpReply reply = HttpGet(port_, "/v1/ledger");
    REQUIRE(reply.status == 200);
    return Json::parse(reply.body);
  }
  // The number of captures for an order (0 when the gateway never charged it).
  int Captures(const std::string& order_id) const {
    const Json orders = Ledger()["orders"];
    return orders.contains(order_id) ? orders[order_id]["captures"].get<int>() : 0;
  }
  HttpReply SetFaults(const Json& knobs) const {
    return HttpRequest("POST", port_, "/v1/admin/faults", knobs.dump(),
                       {{"Content-Type", "application/json"}});
  }

 private:
  int port_;
  std::string dir_;
  std::optional<ChildProcess> process_;
};

// A response header by lower-case name ("" when absent).
std::string Header(const HttpReply& reply, const std::string& name) {
  const auto it = reply.headers.find(name);
  return it == reply.headers.end() ? "" : it->second;
}

Json Order(const std::string& order_id, std::int64_t amount_cents = 4200) {
  return {{"order_id", order_id}, {"amount_cents", amount_cents}, {"currency", "EUR"}};
}

TEST_CASE("gateway-sim: a charge over HTTP succeeds and answers with the charge") {
  GatewaySim gateway;
  const HttpReply reply = gateway.Charge("order-1", Order("order-1"));
  REQUIRE(reply.status == 200);
  CHECK(Header(reply, "content-type") == "application/json");
  const Json charge = Json::parse(reply.body);
  CHECK(charge["id"].get<std::string>().rfind("ch_", 0) == 0);
  CHECK(charge["status"] == "succeeded");
  CHECK(charge["order_id"] == "order-1");
  CHECK(charge["amount_cents"] == 4200);
  CHECK(charge["currency"] == "EUR");
}

TEST_CASE(
    "gateway-sim: a repeated POST returns the same charge id and the ledger shows one capture") {
  GatewaySim gateway;
  const HttpReply first = gateway.Charge("order-1", Order("order-1"));
  const HttpReply second = gateway.Charge("order-1", Order("order-1"));
  REQUIRE(first.status == 200);
  REQUIRE(second.status == 200);
  CHECK(Json::parse(second.body)["id"] == Json::parse(first.body)["id"]);
  CHECK(Header(second, "idempotent-replayed") == "true");
  CHECK(gateway.Captures("order-1") == 1);
}

TEST_CASE("gateway-sim: the same key with a different body is rejected with 422") {
  GatewaySim gateway;
  REQUIRE(gateway.Charge("order-1", Order("order-1", 100)).status == 200);
  const HttpReply reply = gateway.Charge("order-1", Order("order-1", 200));
  CHECK(reply.status == 422);
  CHECK(Json::parse(reply.body)["error"] == "idempotency_key_reused");
  CHECK(gateway.Captures("order-1") == 1);
}

TEST_CASE("gateway-sim: a POST without an Idempotency-Key is rejected with 400") {
  GatewaySim gateway;
  const HttpReply reply = gateway.Charge("", Order("order-1"));
  CHECK(reply.status == 400);
  CHECK(Json::parse(reply.body)["error"] == "missing_idempotency_key");
  CHECK(gateway.Ledger()["orders"].empty());
}

TEST_CASE("gateway-sim: a malformed JSON body is rejected with 400") {
  GatewaySim gateway;
  const HttpReply reply = HttpRequest("POST", gateway.port(), "/v1/charges",
                                      "{\"order_id\": ", {{"Idempotency-Key", "k"}});
  CHECK(reply.status == 400);
  CHECK(Json::parse(reply.body)["error"] == "invalid_request");
  CHECK(
      gateway.Charge("k", {{"order_id", "o"}, {"amount_cents", -1}, {"currency", "EUR"}}).status ==
      400);
  CHECK(gateway.Ledger()["orders"].empty());
}

TEST_CASE("gateway-sim: GET by idempotency key answers 200 for a charged key and 404 otherwise") {
  GatewaySim gateway;
  const HttpReply charged = gateway.Charge("order 1/ä", Order("order-1"));
  REQUIRE(charged.status == 200);
  // The key travels percent-encoded in the query.
  const HttpReply found = HttpGet(gateway.port(), "/v1/charges?idempotency_key=order%201%2F%C3%A4");
  CHECK(found.status == 200);
  CHECK(Json::parse(found.body) == Json::parse(charged.body));
  const HttpReply missing = HttpGet(gateway.port(), "/v1/charges?idempotency_key=never-seen");
  CHECK(missing.status == 404);
  CHECK(Json::parse(missing.body)["error"] == "not_found");
  CHECK(HttpGet(gateway.port(), "/v1/charges").status == 400);
}

TEST_CASE(
    "gateway-sim: a dropped response closes the connection with no reply, yet the charge "
    "is captured and found by key") {
  GatewaySim gateway({"--drop-response-rate", "1"});
  const HttpReply reply = gateway.Charge("order-1", Order("order-1"));
  CHECK(reply.status == 0);
  CHECK(gateway.Captures("order-1") == 1);
  const HttpReply found = HttpGet(gateway.port(), "/v1/charges?idempotency_key=order-1");
  CHECK(found.status == 200);
  CHECK(Json::parse(found.body)["status"] == "succeeded");
}

TEST_CASE("gateway-sim: error rate 1.0 answers 500 and captures nothing") {
  GatewaySim gateway({"--error-rate", "1.0"});
  CHECK(gateway.Charge("order-1", Order("order-1")).status == 500);
  CHECK(gateway.Charge("order-1", Order("order-1")).status == 500);
  CHECK(gateway.Captures("order-1") == 0);
  CHECK(HttpGet(gateway.port(), "/v1/charges?idempotency_key=order-1").status == 404);
}

TEST_CASE("gateway-sim: error-after-charge rate 1.0 answers 500 yet captures the charge") {
  GatewaySim gateway({"--error-after-charge-rate", "1.0"});
  CHECK(gateway.Charge("order-1", Order("order-1")).status == 500);
  CHECK(gateway.Captures("order-1") == 1);
  CHECK(HttpGet(gateway.port(), "/v1/charges?idempotency_key=order-1").status == 200);
}

TEST_CASE("gateway-sim: latency does not serialize concurrent requests") {
  constexpr int kRequests = 10;
  constexpr auto kLatency = 300ms;
  GatewaySim gateway({"--latency-ms", std::to_string(kLatency.count())});
  std::vector<int> statuses(kRequests, -1);
  const auto started = RealNow();
  {
    std::vector<std::jthread> clients;
    for (int i = 0; i < kRequests; ++i) {
      clients.emplace_back([&, i] {
        const std::string order = "order-" + std::to_string(i);
        statuses[i] = gateway.Charge(order, Order(order)).status;
      });
    }
  }
  const auto elapsed = RealNow() - started;
  for (int status : statuses) CHECK(status == 200);
  CHECK(elapsed >= kLatency);
  // Serialized they would take 3 s; concurrent they take one latency plus overhead.
  CHECK(elapsed < 3 * kLatency);
  CHECK(gateway.Ledger()["orders"].size() == kRequests);
}

TEST_CASE("gateway-sim: a second request with a key still in flight is rejected with 409") {
  GatewaySim gateway({"--latency-ms", "1000"});
  HttpReply first;
  std::jthread client([&] { first = gateway.Charge("order-1", Order("order-1")); });
  // Wait until the first request is in flight (the lookup says so) before racing it.
  REQUIRE(WaitUntil(
      [&] { return HttpGet(gateway.port(), "/v1/charges?idempotency_key=order-1").status == 409; },
      5s));
  CHECK(gateway.Charge("order-1", Order("order-1")).status == 409);
  client.join();
  CHECK(first.status == 200);
  CHECK(gateway.Captures("order-1") == 1);
}

TEST_CASE("gateway-sim: a held request is never answered while other requests are served") {
  GatewaySim gateway({"--timeout-rate", "1"});
  HttpReply held;
  std::jthread client([&] { held = gateway.Charge("order-1", Order("order-1")); });
  SleepFor(300ms);
  CHECK(HttpGet(gateway.port(), "/healthz").status == 200);
  CHECK(gateway.Ledger()["orders"].empty());
  CHECK(HttpGet(gateway.port(), "/v1/charges?idempotency_key=order-1").status == 404);
  // The simulator would hold it until the client gives up; stopping the simulator ends the
  // wait without depending on the client's own timeout.
  gateway.process().Signal(SIGTERM);
  client.join();
  CHECK(held.status == 0);
  CHECK(gateway.process().Wait(10s) == 0);
}

TEST_CASE("gateway-sim: the faults endpoint switches the gateway from failing to healthy") {
  GatewaySim gateway({"--error-rate", "1"});
  CHECK(gateway.Charge("order-1", Order("order-1")).status == 500);

  const HttpReply rejected = gateway.SetFaults({{"error_rate", 7}});
  CHECK(rejected.status == 400);
  CHECK(gateway.SetFaults({{"no_such_knob", 0}}).status == 400);

  const HttpReply changed = gateway.SetFaults({{"error_rate", 0}, {"decline_rate", 1}});
  REQUIRE(changed.status == 200);
  CHECK(Json::parse(changed.body)["error_rate"] == 0.0);
  CHECK(Json::parse(HttpGet(gateway.port(), "/v1/admin/faults").body)["decline_rate"] == 1.0);

  const HttpReply reply = gateway.Charge("order-1", Order("order-1"));
  REQUIRE(reply.status == 200);
  CHECK(Json::parse(reply.body)["status"] == "declined");
  CHECK(gateway.Ledger()["orders"]["order-1"] == Json{{"captures", 0}, {"status", "declined"}});
}

TEST_CASE("gateway-sim: a body over 16 KiB is refused with 413") {
  GatewaySim gateway;
  const HttpReply reply = gateway.Charge("k", Order(std::string(20 * 1024, 'x')));
  CHECK(reply.status == 413);
  CHECK(HttpGet(gateway.port(), "/healthz").status == 200);
}

TEST_CASE("gateway-sim: unknown paths answer 404 and wrong methods 405") {
  GatewaySim gateway;
  CHECK(HttpGet(gateway.port(), "/v2/nothing").status == 404);
  const HttpReply reply = HttpRequest("DELETE", gateway.port(), "/v1/ledger");
  CHECK(reply.status == 405);
  CHECK(Header(reply, "allow") == "GET");
}

TEST_CASE("gateway-sim: SIGTERM stops it with exit status 0") {
  GatewaySim gateway;
  gateway.process().Signal(SIGTERM);
  CHECK(gateway.process().Wait(10s) == 0);
}

TEST_CASE("gateway-sim: a bad flag exits with status 2 and names the problem") {
  const CommandResult out_of_range =
      RunCommand({BinaryPath("gateway-sim"), "--decline-rate", "1.5"}, {}, 10s);
  CHECK(out_of_range.exit_code == 2);
  CHECK(out_of_range.output.find("--decline-rate") != std::string::npos);

  const CommandResult unknown = RunCommand({BinaryPath("gateway-sim"), "--no-such-flag"}, {}, 10s);
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.output.find("no-such-flag") != std::string::npos);

  const CommandResult bad_listen =
      RunCommand({BinaryPath("gateway-sim"), "--listen", "localhost"}, {}, 10s);
  CHECK(bad_listen.exit_code == 2);
  CHECK(bad_listen.output.find("--listen") != std::string::npos);

  const CommandResult help = RunCommand({BinaryPath("gateway-sim"), "--help"}, {}, 10s);
  CHECK(help.exit_code == 0);
  CHECK(help.output.find("--drop-response-rate") != std::string::npos);
}

}  // namespace
}  // namespace redrive::testing
