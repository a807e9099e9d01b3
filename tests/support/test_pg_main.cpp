// `redrive-test-pg start|stop STATE_DIR`: the ctest fixture owning the cluster that all
// integration tests of one ctest run share (each test makes its own database in it).
#include <filesystem>
#include <iostream>
#include <string>

#include "tests/support/pg_cluster.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: redrive-test-pg start|stop STATE_DIR\n";
    return 2;
  }
  const std::string action = argv[1];
  const std::string state_dir = argv[2];
  try {
    if (action == "start") {
      // A cluster left behind by an interrupted run is stopped first.
      try {
        redrive::testing::PgCluster::StopFromState(state_dir);
      } catch (...) {
      }
      auto cluster = redrive::testing::PgCluster::Start();
      cluster->WriteState(state_dir);
      std::cout << "PostgreSQL test cluster on 127.0.0.1:" << cluster->port() << " in "
                << cluster->dir() << "\n";
      cluster->Detach();  // keep it running for the tests; `stop` ends it
      return 0;
    }
    if (action == "stop") {
      // Idempotent: a second stop (ctest --repeat) finds nothing to do.
      if (!std::filesystem::exists(state_dir + "/cluster")) {
        std::cout << "no PostgreSQL test cluster running from " << state_dir << "\n";
        return 0;
      }
      redrive::testing::PgCluster::StopFromState(state_dir);
      return 0;
    }
  } catch (const std::exception& error) {
    std::cerr << "redrive-test-pg " << action << ": " << error.what() << "\n";
    return 1;
  }
  std::cerr << "usage: redrive-test-pg start|stop STATE_DIR\n";
  return 2;
}
