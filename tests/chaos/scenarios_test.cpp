// The reliability suite: faults injected into the real system (PostgreSQL, gateway-sim,
// workers, controllers as processes), then invariants I1..I8 checked over everything that
// happened (tests/support/invariants.hpp). Each scenario settles within kSettleBound after
// its last fault healed, or fails.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <iomanip>
#include <pqxx/pqxx>
#include <random>
#include <sstream>
#include <thread>

#include "tests/chaos/chaos_system.hpp"
#include "tests/chaos/faults.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redrive_processes.hpp"

namespace {

using namespace std::chrono_literals;
using redrive::chaos::ChaosOptions;
using redrive::chaos::ChaosRun;
using redrive::chaos::QueryCount;
using redrive::testing::SleepFor;
using redrive::testing::WaitUntil;

// Every scenario ends here: the system settles, then every invariant holds.
void CheckSettledAndSound(ChaosRun& run) {
  run.StopLoad();
  const auto settled = run.Settle();
  CHECK_MESSAGE(settled.has_value(), "orders or events still open after the settle bound");
  const auto results = run.Invariants();
  INFO(ChaosRun::Describe(results));
  for (const auto& result : results) CHECK_MESSAGE(result.held, result.id << ": " << result.detail);
  CHECK(run.OrderCount() > 0);
}

std::int64_t Redrives(ChaosRun& run, const std::string& rule) {
  return QueryCount(
      run.url(),
      "SELECT count(*) FROM redrive_log WHERE outcome = 'applied' AND rule = '" + rule + "'");
}

// How far ahead of this machine's clock the last line of a redrive log is stamped, in
// seconds ("time":"YYYY-MM-DDTHH:MM:SS.mmmZ").
long LoggedClockSkewSeconds(const std::string& log_path) {
  const std::string log = redrive::testing::ReadFile(log_path);
  const auto at = log.rfind("\"time\":\"");
  if (at == std::string::npos) return 0;
  std::tm stamped{};
  std::istringstream(log.substr(at + 8, 19)) >> std::get_time(&stamped, "%Y-%m-%dT%H:%M:%S");
  const long logged = static_cast<long>(timegm(&stamped));
  return logged - static_cast<long>(std::time(nullptr));
}

// libfaketime preloaded straight into the binary (not through the faketime command, which
// would stand between us and the pid we kill). The monotonic clock stays real.
void FakeClock(redrive::testing::Service& service, const std::string& offset) {
  service.SetEnv("LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1");
  service.SetEnv("FAKETIME", offset);
  service.SetEnv("DONT_FAKE_MONOTONIC", "1");
  // Under make asan the preload comes before the sanitizer's runtime, which then refuses to
  // start; the order does not matter to libfaketime. Ignored by a build without ASan.
  service.SetEnv("ASAN_OPTIONS", "verify_asan_link_order=0");
}

}  // namespace

TEST_CASE("chaos: a worker crashing at each failpoint under load loses nothing, charges once") {
  ChaosRun run;
  run.StartLoad(20);
  auto& victim = run.system().payment_worker(0);
  for (const std::string failpoint : {"after_claim", "between_read_and_write",
                                      "after_gateway_response", "before_settle_commit"}) {
    INFO("failpoint ", failpoint);
    victim.Kill();
    victim.SetEnv("REDRIVE_FAILPOINTS", failpoint + "=abort");
    victim.Start();
    // abort() at the failpoint: the process dies by SIGABRT the first time it gets there.
    CHECK(WaitUntil([&] { return !victim.Running(); }, 15s));
    victim.SetEnv("REDRIVE_FAILPOINTS", std::nullopt);
    victim.Start();
    CHECK(victim.WaitReady(20s));
  }
  CheckSettledAndSound(run);
}

TEST_CASE("chaos: workers SIGKILLed at random moments during load") {
  const unsigned seed = static_cast<unsigned>(::getpid());
  INFO("seed ", seed);
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> pause_ms(300, 1500);
  ChaosRun run(
      {.payment_workers = 3, .controllers = 2, .gateway_faults = {{"latency_ms", 30}}, .env = {}});
  run.StartLoad(25);
  for (int kill = 0; kill < 5; ++kill) {
    SleepFor(std::chrono::milliseconds(pause_ms(random)));
    auto& victim = run.system().payment_worker(static_cast<int>(random() % 3));
    redrive::chaos::KillAndRestart(victim, std::chrono::milliseconds(pause_ms(random)));
  }
  CheckSettledAndSound(run);
}

TEST_CASE("chaos: a worker frozen past its lease comes back and its late writes change nothing") {
  // 400 ms per charge keeps payments in flight when the worker freezes.
  ChaosRun run(
      {.payment_workers = 2, .controllers = 2, .gateway_faults = {{"latency_ms", 400}}, .env = {}});
  run.StartLoad(20);
  SleepFor(2s);
  auto& zombie = run.system().payment_worker(0);
  const double inflight = zombie.Metric("redrive_worker_inflight{consumer=\"payment\"}");
  redrive::chaos::Pause(zombie, 7s);  // the lease is 3 s: its claims expire and move on
  SleepFor(3s);
  CHECK(zombie.Running());
  CheckSettledAndSound(run);
  if (inflight > 0) CHECK(Redrives(run, "expired_claim") >= 1);
}

TEST_CASE("chaos: a frozen leader loses the lease, the standby takes over, the old one is fenced") {
  ChaosRun run;
  run.StartLoad(15);
  REQUIRE(WaitUntil([&] { return redrive::chaos::LeaderIndex(run) >= 0; }, 15s));
  const int old_leader = redrive::chaos::LeaderIndex(run);
  const auto old_epoch = QueryCount(run.url(), "SELECT epoch FROM controller_leases");
  auto& frozen = run.system().controller(old_leader);

  std::thread freeze([&] { redrive::chaos::Pause(frozen, 8s); });
  // While the leader is frozen, a worker crashes: somebody must recover its claims.
  SleepFor(1s);
  redrive::chaos::KillAndRestart(run.system().payment_worker(0), 500ms);
  CHECK(WaitUntil(
      [&] {
        const int leader = redrive::chaos::LeaderIndex(run);
        return leader >= 0 && leader != old_leader;
      },
      10s));
  const auto new_epoch = QueryCount(run.url(), "SELECT epoch FROM controller_leases");
  CHECK(new_epoch > old_epoch);
  freeze.join();
  SleepFor(4s);  // the old leader wakes up, believes it leads, and tries to act

  CHECK(frozen.Running());
  // Every controller write names its epoch and is fenced by the lease row: nothing the old
  // leader wrote after the takeover got in.
  CHECK(QueryCount(run.url(),
                   "SELECT count(*) FROM redrive_log WHERE epoch = " + std::to_string(old_epoch) +
                       " AND outcome = 'applied' AND at > "
                       "(SELECT acquired_at FROM controller_leases)") == 0);
  CheckSettledAndSound(run);
}

TEST_CASE("chaos: SIGTERM while charges are in flight drains them and exits cleanly") {
  ChaosRun run(
      {.payment_workers = 2, .controllers = 1, .gateway_faults = {{"latency_ms", 800}}, .env = {}});
  run.StartLoad(20);
  SleepFor(2s);
  auto& worker = run.system().payment_worker(0);
  const double inflight = worker.Metric("redrive_worker_inflight{consumer=\"payment\"}");
  CHECK(inflight > 0);
  CHECK(worker.Stop(8s) == 0);  // drains within worker.shutdown_grace_seconds (5 s)
  CHECK(redrive::testing::ReadFile(worker.log_path()).find("\"drained\"") != std::string::npos);
  CheckSettledAndSound(run);
}

TEST_CASE("chaos: PostgreSQL crashes (immediate shutdown) under load and comes back") {
  ChaosRun run;
  run.StartLoad(20);
  SleepFor(2s);
  redrive::chaos::CrashDatabase(run, 2s);
  SleepFor(3s);
  for (auto* service : run.system().services()) {
    INFO(service->name());
    CHECK(service->Running());  // nobody exits because the database went away
  }
  CheckSettledAndSound(run);
}

TEST_CASE("chaos: with every connection slot taken, workers wait and recover") {
  ChaosRun run;
  run.StartLoad(15);
  SleepFor(2s);
  const int taken = redrive::chaos::ExhaustConnections(run, 4s);
  CHECK(taken > 100);
  for (auto* service : run.system().services()) {
    INFO(service->name());
    CHECK(service->Running());
  }
  CheckSettledAndSound(run);
}

TEST_CASE("chaos: a killed LISTEN connection: polling bounds latency, then workers LISTEN again") {
  ChaosRun run;
  SleepFor(1s);
  CHECK(redrive::chaos::TerminateListeners(run) >= 3);  // 2 payment workers, 1 webhook worker
  run.PlaceOrders(20);
  // No NOTIFY reaches a worker now: the 250 ms poll finds the orders.
  REQUIRE(run.Settle(20s).has_value());
  CHECK(QueryCount(run.url(),
                   "SELECT (max(extract(epoch FROM updated_at - created_at)) * 1000)::bigint "
                   "FROM orders") < 2000);
  CHECK(WaitUntil(
      [&] {
        return QueryCount(run.url(),
                          "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'LISTEN %'") >=
               3;
      },
      15s));
  CheckSettledAndSound(run);
}

TEST_CASE("chaos: with the NOTIFY trigger disabled, polling alone drains the outbox") {
  ChaosRun run;
  redrive::testing::Execute(run.url(), "ALTER TABLE outbox DISABLE TRIGGER outbox_notify");
  run.PlaceOrders(100);
  CHECK(run.Settle(30s).has_value());
  CHECK(QueryCount(run.url(), "SELECT count(*) FROM orders WHERE state IN ('PAID', 'FAILED')") ==
        100);
  redrive::testing::Execute(run.url(), "ALTER TABLE outbox ENABLE TRIGGER outbox_notify");
  CheckSettledAndSound(run);
}

TEST_CASE("chaos: a long foreign transaction open during load does not stall the pipeline") {
  ChaosRun run;
  pqxx::connection foreign(run.url());
  pqxx::transaction<pqxx::repeatable_read> snapshot(foreign, "foreign");
  snapshot.exec("SELECT count(*) FROM orders");  // holds a snapshot, and back vacuum
  run.StartLoad(20);
  SleepFor(6s);
  run.StopLoad();
  CHECK(run.Settle(30s).has_value());  // settled while the transaction is still open
  snapshot.commit();
  CheckSettledAndSound(run);
}

TEST_CASE("chaos: gateway timeouts, 5xx before and after charging, dropped replies and 429s") {
  ChaosRun run({.payment_workers = 2,
                .controllers = 2,
                .gateway_faults = {{"latency_ms", 20},
                                   {"timeout_rate", 0.03},
                                   {"error_rate", 0.1},
                                   {"error_after_charge_rate", 0.05},
                                   {"drop_response_rate", 0.05},
                                   {"rate_limit_rate", 0.1},
                                   {"decline_rate", 0.05}},
                .env = {}});
  run.StartLoad(20);
  SleepFor(8s);
  CheckSettledAndSound(run);
  CHECK(QueryCount(run.url(), "SELECT count(*) FROM orders WHERE state = 'FAILED'") > 0);
}

TEST_CASE("chaos: an outage long enough opens the circuit breaker, and work resumes after it") {
  ChaosRun run;
  run.StartLoad(20);
  SleepFor(2s);
  run.system().SetGatewayFaults({{"error_rate", 1.0}});
  auto& worker = run.system().payment_worker(0);
  CHECK(WaitUntil(
      [&] { return worker.Metric("redrive_circuit_breaker_state{target=\"gateway\"}") == 2; },
      10s));
  SleepFor(2s);
  run.RestoreGateway();
  CHECK(WaitUntil(
      [&] { return worker.Metric("redrive_circuit_breaker_state{target=\"gateway\"}") == 0; },
      15s));
  CheckSettledAndSound(run);
}

TEST_CASE("chaos: a key the gateway forgot ends in NEEDS_REVIEW, never in a second charge") {
  // The gateway forgets keys after 2 s; redrive trusts them for 4 s. The worker dies right
  // after its charge went through, before recording it.
  ChaosRun run({.payment_workers = 1,
                .controllers = 1,
                .gateway_faults = {{"key_ttl_seconds", 2}},
                .env = {{"REDRIVE_CONTROLLER_KEY_RETENTION_SECONDS", "4"},
                        {"REDRIVE_FAILPOINTS", "after_gateway_response=abort"}}});
  auto& worker = run.system().payment_worker(0);
  run.PlaceOrders(1);
  REQUIRE(WaitUntil([&] { return !worker.Running(); }, 15s));
  worker.SetEnv("REDRIVE_FAILPOINTS", std::nullopt);
  SleepFor(5s);  // past both the gateway's memory and redrive's retention
  worker.Start();
  REQUIRE(worker.WaitReady(20s));

  CHECK(redrive::testing::WaitForValue(run.url(), "SELECT state FROM orders", "NEEDS_REVIEW", 30s));
  const auto ledger = run.system().LedgerOrders();
  REQUIRE(ledger.size() == 1);
  CHECK(ledger.begin().value().at("captures").get<int>() == 1);  // the first charge only
  CHECK_NOTHROW(run.RestoreGateway());  // the baseline leaves the start-up key TTL alone
  CheckSettledAndSound(run);
}

TEST_CASE("chaos: 10,000 orders stuck at once are re-driven within the budget per cycle") {
  ChaosRun run({.payment_workers = 2,
                .controllers = 1,
                .gateway_faults = nlohmann::json::object(),
                .env = {{"REDRIVE_CONTROLLER_REDRIVE_BUDGET", "2500"}}});
  // 10,000 orders whose payment events were lost: PAYMENT_PENDING, never sent to the
  // gateway, no pending event. Only the controller can get them moving again.
  redrive::testing::Execute(
      run.url(),
      "ALTER TABLE outbox DISABLE TRIGGER outbox_notify; "
      "INSERT INTO orders (customer_id, amount_cents, currency, state, version, updated_at) "
      "SELECT 'stuck-' || g, 500 + g, 'USD', 'PAYMENT_PENDING', 2, now() - interval '1 hour' "
      "FROM generate_series(1, 10000) g; "
      "ALTER TABLE outbox ENABLE TRIGGER outbox_notify");
  CHECK(run.Settle(120s).has_value());
  CHECK(QueryCount(run.url(),
                   "SELECT max(n) FROM (SELECT count(*) AS n FROM redrive_log "
                   "WHERE rule = 'stuck_order' AND outcome = 'applied' GROUP BY cycle_id) c") <=
        2500);
  CHECK(QueryCount(run.url(),
                   "SELECT count(DISTINCT cycle_id) FROM redrive_log WHERE rule = 'stuck_order' "
                   "AND outcome = 'applied'") >= 4);
  CheckSettledAndSound(run);
}

TEST_CASE("chaos: skewed application clocks (faketime) do not move leases judged by the database") {
  ChaosRun run;
  // One worker an hour ahead, one controller half an hour behind: if anything judged a
  // lease by its own clock, claims would expire at once or never.
  auto& ahead = run.system().payment_worker(0);
  ahead.Kill();
  FakeClock(ahead, "+1h");
  ahead.Start();
  REQUIRE(ahead.WaitReady(20s));
  auto& behind = run.system().controller(0);
  behind.Kill();
  FakeClock(behind, "-30m");
  behind.Start();
  REQUIRE(behind.WaitReady(20s));
  // The skew is real: the worker's own log lines carry a wall clock an hour ahead.
  CHECK(LoggedClockSkewSeconds(ahead.log_path()) > 3500);
  CHECK(LoggedClockSkewSeconds(behind.log_path()) < -1700);

  run.StartLoad(20);
  SleepFor(6s);
  CheckSettledAndSound(run);
  // Nothing crashed, so no claim may have been judged expired.
  CHECK(Redrives(run, "expired_claim") == 0);
  CHECK(Redrives(run, "dead_worker_claim") == 0);
}

TEST_CASE("chaos: a worker partitioned from PostgreSQL loses its claims, then rejoins safely") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: the partition is an iptables rule, which needs root");
    return;
  }
  constexpr int kNobody = 65534;
  ChaosRun run(
      {.payment_workers = 2, .controllers = 2, .gateway_faults = {{"latency_ms", 300}}, .env = {}});
  // The victim runs as `nobody`, so one rule on its uid cuts it, and only it, from the
  // database; it must be able to read the configuration for that.
  std::filesystem::permissions(run.system().folder(), std::filesystem::perms::owner_all |
                                                          std::filesystem::perms::group_read |
                                                          std::filesystem::perms::group_exec |
                                                          std::filesystem::perms::others_read |
                                                          std::filesystem::perms::others_exec);
  auto& victim = run.system().payment_worker(0);
  victim.Kill();
  victim.SetLauncher({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
  victim.Start();
  REQUIRE(victim.WaitReady(20s));
  run.StartLoad(20);
  SleepFor(2s);
  {
    redrive::chaos::LoopbackPartition partition(kNobody, run.system().cluster().port());
    SleepFor(8s);  // well past the 3 s lease: its claims are recovered by the controller
    CHECK(QueryCount(run.url(),
                     "SELECT count(*) FROM orders WHERE state IN ('PAID', 'FAILED') AND "
                     "updated_at > now() - interval '2 seconds'") > 0);  // others carry on
  }
  SleepFor(3s);
  CHECK(victim.Running());
  CheckSettledAndSound(run);
  CHECK(Redrives(run, "expired_claim") >= 1);  // the cut worker's claims were taken back
}
