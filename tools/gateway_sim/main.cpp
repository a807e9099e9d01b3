// gateway-sim: a payment gateway with Stripe-like idempotency and fault knobs, for the
// demo, the tests and the benchmarks. Wires flags -> settings -> simulator -> server.
#include <boost/program_options.hpp>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "core/runtime/log.hpp"
#include "core/runtime/system_clock.hpp"
#include "tools/gateway_sim/faults.hpp"
#include "tools/gateway_sim/listen_address.hpp"
#include "tools/gateway_sim/server.hpp"
#include "tools/gateway_sim/simulator.hpp"

namespace {

namespace po = boost::program_options;
namespace gs = redrive::gateway_sim;

constexpr int kBadUsage = 2;
constexpr int kMaxThreads = 256;

int Usage(const std::string& message) {
  std::cerr << "gateway-sim: " << message << "\n(see gateway-sim --help)\n";
  return kBadUsage;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:8090";
  std::string log_level = "info";
  std::int64_t key_ttl_seconds = 86400;
  std::uint64_t seed = 1;
  int threads = 1;
  gs::FaultKnobs knobs;

  po::options_description options(
      "gateway-sim: a payment gateway simulator with Stripe-like "
      "idempotency and fault injection\n\nOptions");
  // clang-format off
  options.add_options()
      ("help,h", "print this help and exit")
      ("listen", po::value(&listen)->default_value(listen), "HOST:PORT to serve on (port 0: any)")
      ("threads", po::value(&threads)->default_value(threads), "io_context threads")
      ("latency-ms", po::value(&knobs.latency_ms)->default_value(0), "delay before answering a charge")
      ("decline-rate", po::value(&knobs.decline_rate)->default_value(0.0, "0"),
       "share of keys whose charge is declined (deterministic per key and seed)")
      ("error-rate", po::value(&knobs.error_rate)->default_value(0.0, "0"),
       "share of charges answered 500 before charging")
      ("error-after-charge-rate", po::value(&knobs.error_after_charge_rate)->default_value(0.0, "0"),
       "share of charges recorded, then answered 500")
      ("drop-response-rate", po::value(&knobs.drop_response_rate)->default_value(0.0, "0"),
       "share of charges recorded, then the connection closed with no reply")
      ("timeout-rate", po::value(&knobs.timeout_rate)->default_value(0.0, "0"),
       "share of charges never answered and never charged")
      ("rate-limit-rate", po::value(&knobs.rate_limit_rate)->default_value(0.0, "0"),
       "share of charges answered 429 with Retry-After: 1, before charging")
      ("key-ttl-seconds", po::value(&key_ttl_seconds)->default_value(key_ttl_seconds),
       "how long an idempotency key is remembered after its charge")
      ("seed", po::value(&seed)->default_value(seed), "seed for every random decision")
      ("log-level", po::value(&log_level)->default_value(log_level), "debug, info, warn or error");
  // clang-format on

  po::variables_map values;
  try {
    po::store(po::command_line_parser(argc, argv).options(options).run(), values);
    po::notify(values);
  } catch (const po::error& error) {
    return Usage(error.what());
  }
  if (values.count("help") != 0) {
    std::cout << options << "\n";
    return 0;
  }

  // Every problem at once, like config::Validate.
  std::vector<std::string> errors;
  for (const std::string& error : gs::ValidateKnobs(knobs)) {
    std::string flag = error;
    // The knob names in messages are the admin API's; on the command line they are flags.
    for (char& c : flag.replace(0, 0, "--")) {
      if (c == '_') c = '-';
      if (c == ' ') break;
    }
    errors.push_back(flag);
  }
  if (key_ttl_seconds <= 0) errors.push_back("--key-ttl-seconds must be greater than 0");
  if (threads < 1 || threads > kMaxThreads) errors.push_back("--threads must be between 1 and 256");
  redrive::log::Level level{};
  if (!redrive::log::ParseLevel(log_level, level)) {
    errors.push_back("--log-level must be debug, info, warn or error");
  }
  const auto address = gs::ParseListenAddress(listen);
  if (!address) errors.push_back(address.error());
  if (!errors.empty()) {
    std::string message = errors.front();
    for (std::size_t i = 1; i < errors.size(); ++i) message += "; " + errors[i];
    return Usage(message);
  }

  redrive::log::SetComponent("gateway-sim");
  redrive::log::SetLevel(level);

  redrive::runtime::SystemClock clock;
  gs::SeededRandom random(seed);
  gs::Simulator simulator(
      clock, random,
      {.knobs = knobs, .key_ttl = std::chrono::seconds(key_ttl_seconds), .seed = seed});
  return gs::RunServer(simulator, {.listen = *address, .threads = threads});
}
