// redrive-controller: flags -> configuration -> the reconcile loop.
#include <boost/program_options.hpp>
#include <iostream>

#include "controller/controller.hpp"
#include "core/config/config.hpp"
#include "core/pg/pooler_check.hpp"
#include "core/runtime/instance_id.hpp"
#include "core/runtime/log.hpp"

namespace po = boost::program_options;

namespace {

constexpr int kExitUsage = 2;

}  // namespace

int main(int argc, char** argv) {
  redrive::log::SetComponent("controller");
  po::options_description options("redrive-controller options");
  options.add_options()("help,h", "show this help")(
      "config", po::value<std::string>(), "YAML configuration file (REDRIVE_* env vars override)")(
      "once", "run one reconcile cycle as leader, then exit (0 when it succeeded)")(
      "dry-run", "compute and audit the plan, change nothing else");
  po::variables_map flags;
  try {
    po::store(po::parse_command_line(argc, argv, options), flags);
    po::notify(flags);
  } catch (const po::error& error) {
    std::cerr << "redrive-controller: " << error.what() << "\n";
    return kExitUsage;
  }
  if (flags.count("help")) {
    std::cout << "usage: redrive-controller [--config FILE] [--once] [--dry-run]\n\n" << options;
    return 0;
  }

  redrive::controller::ControllerSetup setup;
  if (flags.count("config")) setup.config_path = flags["config"].as<std::string>();
  setup.config = redrive::config::LoadOrExit(setup.config_path);  // exits 2 naming the key
  if (flags.count("dry-run")) setup.config.controller.dry_run = true;
  setup.once = flags.count("once") > 0;
  if (const auto shared = redrive::pg::DetectSharedSessions(setup.config.database)) {
    std::cerr << "redrive: invalid configuration: " << *shared << "\n";
    return kExitUsage;
  }
  setup.instance_id = setup.config.controller.instance_id.empty()
                          ? redrive::runtime::DefaultInstanceId()
                          : setup.config.controller.instance_id;
  redrive::log::Level level = redrive::log::Level::kInfo;
  redrive::log::ParseLevel(setup.config.log.level, level);
  redrive::log::SetLevel(level);
  return redrive::controller::RunController(setup);
}
