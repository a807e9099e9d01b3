// redrive-worker: flags -> configuration -> one consumer -> run until SIGTERM.
#include <algorithm>
#include <boost/program_options.hpp>
#include <iostream>

#include "core/config/config.hpp"
#include "core/pg/pooler_check.hpp"
#include "core/runtime/failpoints.hpp"
#include "core/runtime/instance_id.hpp"
#include "core/runtime/log.hpp"
#include "workers/worker.hpp"

namespace po = boost::program_options;

namespace {

constexpr int kExitUsage = 2;

}  // namespace

int main(int argc, char** argv) {
  redrive::log::SetComponent("worker");
  po::options_description options("redrive-worker options");
  options.add_options()("help,h", "show this help")(
      "config", po::value<std::string>(), "YAML configuration file (REDRIVE_* env vars override)")(
      "consumer", po::value<std::string>(), "payment, webhook or noop");
  po::variables_map flags;
  try {
    po::store(po::parse_command_line(argc, argv, options), flags);
    po::notify(flags);
  } catch (const po::error& error) {
    std::cerr << "redrive-worker: " << error.what() << "\n";
    return kExitUsage;
  }
  if (flags.count("help")) {
    std::cout << "usage: redrive-worker --consumer payment|webhook|noop [--config FILE]\n\n"
              << options;
    return 0;
  }
  const std::string consumer = flags.count("consumer") ? flags["consumer"].as<std::string>() : "";
  if (std::find(std::begin(redrive::workers::kConsumers), std::end(redrive::workers::kConsumers),
                consumer) == std::end(redrive::workers::kConsumers)) {
    std::cerr << "redrive-worker: --consumer must be payment, webhook or noop\n";
    return kExitUsage;
  }

  std::optional<std::string> config_path;
  if (flags.count("config")) config_path = flags["config"].as<std::string>();
  redrive::workers::WorkerSetup setup;
  setup.config = redrive::config::LoadOrExit(config_path);  // exits 2 naming the key
  setup.consumer = consumer;
  if (consumer == "webhook") {
    // Subscribers verify the signature: an empty key would make it worthless.
    const std::pair<const char*, const std::string*> required[] = {
        {"webhook.url", &setup.config.webhook.url},
        {"webhook.secret", &setup.config.webhook.secret}};
    bool valid = true;
    for (const auto& [key, value] : required) {
      if (!value->empty()) continue;
      std::cerr << "redrive: invalid configuration: " << key
                << ": required with --consumer webhook\n";
      valid = false;
    }
    if (!valid) return kExitUsage;
  }
  for (const auto& error : redrive::runtime::ActiveFailpoints().errors) {
    std::cerr << "redrive-worker: " << error << "\n";
    return kExitUsage;
  }
  if (const auto shared = redrive::pg::DetectSharedSessions(setup.config.database)) {
    std::cerr << "redrive: invalid configuration: " << *shared << "\n";
    return kExitUsage;
  }
  setup.instance_id = setup.config.worker.instance_id.empty()
                          ? redrive::runtime::DefaultInstanceId()
                          : setup.config.worker.instance_id;
  redrive::log::Level level = redrive::log::Level::kInfo;
  redrive::log::ParseLevel(setup.config.log.level, level);
  redrive::log::SetLevel(level);
  return redrive::workers::RunWorker(setup);
}
