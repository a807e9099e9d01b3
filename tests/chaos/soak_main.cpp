// redrive-soak: `make soak SEED=… RUNS=…`. Each run starts a fresh system, places orders at a
// steady rate while random faults (kills, pauses, database crashes, gateway outages, cut
// connections) hit it at random times, then lets it settle and checks invariants I1..I8.
// The seed makes a run's fault schedule reproducible (the machine's timing is not).
#include <boost/program_options.hpp>
#include <chrono>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tests/chaos/chaos_system.hpp"
#include "tests/chaos/faults.hpp"
#include "tests/support/process.hpp"

namespace {

namespace po = boost::program_options;
using namespace std::chrono_literals;
using redrive::chaos::ChaosRun;
using Random = std::mt19937_64;

struct SoakOptions {
  std::uint64_t seed = 1;
  int runs = 10;
  double seconds = 15;  // of load and faults per run
  double rate = 20;     // orders per second
};

std::chrono::milliseconds Between(Random& random, int low_ms, int high_ms) {
  return std::chrono::milliseconds(std::uniform_int_distribution<int>(low_ms, high_ms)(random));
}

redrive::testing::Service& AnyWorker(ChaosRun& run, Random& random) {
  const int payment = 2;
  const int pick = std::uniform_int_distribution<int>(0, payment)(random);
  return pick < payment ? run.system().payment_worker(pick) : run.system().webhook_worker(0);
}

// One random fault, applied and healed; returns its name.
std::string InjectFault(ChaosRun& run, Random& random) {
  switch (std::uniform_int_distribution<int>(0, 7)(random)) {
    case 0:
      redrive::chaos::KillAndRestart(AnyWorker(run, random), Between(random, 100, 2000));
      return "kill_worker";
    case 1:
      redrive::chaos::Pause(AnyWorker(run, random), Between(random, 1000, 6000));
      return "pause_worker";
    case 2: {
      const int leader = redrive::chaos::LeaderIndex(run);
      redrive::chaos::Pause(run.system().controller(leader < 0 ? 0 : leader),
                            Between(random, 1000, 6000));
      return "pause_leader";
    }
    case 3:
      redrive::chaos::KillAndRestart(
          run.system().controller(std::uniform_int_distribution<int>(0, 1)(random)),
          Between(random, 100, 3000));
      return "kill_controller";
    case 4:
      redrive::chaos::CrashDatabase(run, Between(random, 500, 3000));
      return "crash_database";
    case 5:
      redrive::chaos::TerminateListeners(run);
      return "cut_listen";
    case 6: {
      static const std::vector<nlohmann::json> kBursts = {{{"error_rate", 1.0}},
                                                          {{"drop_response_rate", 0.5}},
                                                          {{"timeout_rate", 0.3}},
                                                          {{"error_after_charge_rate", 0.5}},
                                                          {{"rate_limit_rate", 0.7}}};
      const auto& burst = kBursts[std::uniform_int_distribution<std::size_t>(0, 4)(random)];
      run.GatewayBurst(burst, Between(random, 1000, 5000));
      return "gateway_" + burst.begin().key();
    }
    default:
      redrive::chaos::ExhaustConnections(run, Between(random, 500, 3000));
      return "exhaust_connections";
  }
}

SoakOptions ParseOptions(int argc, char** argv) {
  SoakOptions options;
  po::options_description described("redrive-soak options");
  described.add_options()("help,h", "show this help")(
      "seed", po::value(&options.seed)->default_value(1), "seed of the first run's schedule")(
      "runs", po::value(&options.runs)->default_value(10), "number of runs")(
      "seconds", po::value(&options.seconds)->default_value(15), "seconds of load per run")(
      "rate", po::value(&options.rate)->default_value(20), "orders per second");
  po::variables_map values;
  try {
    po::store(po::parse_command_line(argc, argv, described), values);
    po::notify(values);
  } catch (const po::error& error) {
    std::cerr << "redrive-soak: " << error.what() << "\n" << described;
    std::exit(2);
  }
  if (values.count("help") != 0) {
    std::cout << described;
    std::exit(0);
  }
  if (options.runs < 1 || options.seconds < 1 || options.rate <= 0) {
    std::cerr << "redrive-soak: --runs and --seconds must be at least 1, --rate above 0\n";
    std::exit(2);
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  const SoakOptions options = ParseOptions(argc, argv);
  std::map<std::string, int> faults_total;
  std::map<std::string, int> held_total;
  std::vector<std::string> invariant_order;
  std::int64_t orders_total = 0;
  int failed_runs = 0;

  for (int index = 0; index < options.runs; ++index) {
    const std::uint64_t seed = options.seed + static_cast<std::uint64_t>(index);
    Random random(seed);
    std::map<std::string, int> faults;
    std::string line;
    try {
      ChaosRun run({.payment_workers = 2,
                    .controllers = 2,
                    .gateway_faults = {{"latency_ms", 20}, {"decline_rate", 0.05}},
                    .env = {}});
      run.StartLoad(options.rate);
      const auto start = redrive::testing::RealNow();
      const auto until = start + std::chrono::duration<double>(options.seconds);
      while (redrive::testing::RealNow() < until) {
        redrive::testing::SleepFor(Between(random, 300, 2500));
        ++faults[InjectFault(run, random)];
      }
      run.StopLoad();
      const auto settled = run.Settle();
      const auto results = run.Invariants();
      const auto orders = run.OrderCount();
      orders_total += orders;

      bool all_held = settled.has_value();
      line = "run " + std::to_string(index + 1) + " seed " + std::to_string(seed) + ": " +
             std::to_string(orders) + " orders, faults";
      int fault_count = 0;
      for (const auto& [name, count] : faults) {
        line += " " + name + "=" + std::to_string(count);
        fault_count += count;
        faults_total[name] += count;
      }
      line += " (" + std::to_string(fault_count) + "), ";
      line += settled ? "settled in " + std::to_string(static_cast<int>(*settled + 0.5)) + " s"
                      : "NOT SETTLED within " +
                            std::to_string(redrive::chaos::kSettleBound.count()) + " s";
      for (const auto& result : results) {
        if (held_total.find(result.id) == held_total.end()) invariant_order.push_back(result.id);
        held_total[result.id] += result.held ? 1 : 0;
        all_held = all_held && result.held;
        line += " " + result.id + (result.held ? " ok" : " FAIL(" + result.detail + ")");
      }
      if (!all_held) ++failed_runs;
    } catch (const std::exception& error) {
      ++failed_runs;
      line = "run " + std::to_string(index + 1) + " seed " + std::to_string(seed) + ": ERROR " +
             error.what();
    }
    std::cout << line << "\n" << std::flush;
  }

  std::cout << "\nsoak: " << options.runs << " runs from seed " << options.seed << ", "
            << orders_total << " orders, faults:";
  int faults_sum = 0;
  for (const auto& [name, count] : faults_total) {
    std::cout << " " << name << "=" << count;
    faults_sum += count;
  }
  std::cout << " (" << faults_sum << ")\ninvariants:";
  for (const auto& id : invariant_order) {
    std::cout << " " << id << " " << held_total[id] << "/" << options.runs;
  }
  std::cout << "\nresult: "
            << (failed_runs == 0 ? "every run kept every invariant"
                                 : std::to_string(failed_runs) + " run(s) FAILED")
            << "\n";
  return failed_runs == 0 ? 0 : 1;
}
