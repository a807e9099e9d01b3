// Bad configuration, seen from outside: the binary exits 2 with one line naming the key.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "tests/support/process.hpp"

using redrive::testing::BinaryPath;
using redrive::testing::RunCommand;

TEST_CASE("an invalid environment override exits 2 naming the key") {
  const auto result =
      RunCommand({BinaryPath("redrivectl"), "migrate"}, {{"REDRIVE_WORKER_LEASE_SECONDS", "soon"}});
  CHECK(result.exit_code == 2);
  CHECK(result.output.find("worker.lease_seconds") != std::string::npos);
}

TEST_CASE("an unknown key in the configuration file exits 2 naming it") {
  const std::string dir = redrive::testing::MakeTempDir("redrive-config");
  const std::string path = dir + "/redrive.yaml";
  std::ofstream(path) << "worker:\n  concurrency: 4\n  lease_secs: 30\n";
  const auto result = RunCommand({BinaryPath("redrivectl"), "--config", path, "migrate"});
  std::remove(path.c_str());
  ::rmdir(dir.c_str());
  CHECK(result.exit_code == 2);
  CHECK(result.output.find("worker.lease_secs") != std::string::npos);
}

TEST_CASE("a missing configuration file exits 2 naming the path") {
  const auto result =
      RunCommand({BinaryPath("redrivectl"), "--config", "/nonexistent/redrive.yaml", "migrate"});
  CHECK(result.exit_code == 2);
  CHECK(result.output.find("/nonexistent/redrive.yaml") != std::string::npos);
}

TEST_CASE("an unreachable database never prints its password") {
  const auto result =
      RunCommand({BinaryPath("redrivectl"), "migrate"},
                 {{"REDRIVE_DATABASE_URL", "postgresql://redrive:hunter2@127.0.0.1:1/redrive"},
                  {"REDRIVE_DATABASE_CONNECT_TIMEOUT_SECONDS", "1"}});
  CHECK(result.exit_code == 1);
  CHECK(result.output.find("hunter2") == std::string::npos);
}
