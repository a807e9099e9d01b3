// make demo runs redrive-demo: a short run must show the kill, the outage, every invariant
// passing and every process stopped.
#include <doctest/doctest.h>

#include "tests/support/process.hpp"

namespace {

using redrive::testing::BinaryPath;
using redrive::testing::RunCommand;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a short demo kills a worker, survives a gateway outage and every invariant holds") {
  const auto demo = RunCommand({BinaryPath("redrive-demo"), "--duration", "10", "--rate", "15"}, {},
                               std::chrono::seconds(150));
  INFO(demo.output);
  CHECK(demo.exit_code == 0);
  CHECK(Contains(demo.output, "SIGKILL payment-1"));
  CHECK(Contains(demo.output, "restarted payment-1"));
  CHECK(Contains(demo.output, "ready\n"));
  CHECK(Contains(demo.output, "gateway outage"));
  for (const std::string id : {"I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8", "W"}) {
    CHECK_MESSAGE(Contains(demo.output, "PASS  " + id + "  "), id);
  }
  CHECK_FALSE(Contains(demo.output, "FAIL  "));
  CHECK(Contains(demo.output, "result: every invariant held"));
  CHECK(Contains(demo.output, "payment-1  http://127.0.0.1:"));
  CHECK(Contains(demo.output, "redrivectl --config "));
  CHECK(Contains(demo.output, " status\nredrive status at "));
  CHECK(Contains(demo.output, " dlq list\n"));
  CHECK(Contains(demo.output, "every process the demo started has been stopped."));
}

TEST_CASE("redrive-demo refuses a bad flag with exit 2 and names it") {
  const auto demo = RunCommand({BinaryPath("redrive-demo"), "--rate", "0"});
  CHECK(demo.exit_code == 2);
  CHECK(Contains(demo.output, "--rate"));
}
