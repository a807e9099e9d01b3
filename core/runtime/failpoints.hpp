#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

// Failpoints: named places on the dangerous lines (after a claim, after the gateway
// answered and before the commit, between a read and its conditional write) where a test
// can make the process abort, stall or fail. Configured only by the environment variable
// REDRIVE_FAILPOINTS=name=action[,name=action...]; inert when it is unset.
namespace redrive::runtime {

struct FailpointAbort {};
struct FailpointSleep {
  std::chrono::milliseconds duration;
};
struct FailpointError {};
using FailpointAction = std::variant<FailpointAbort, FailpointSleep, FailpointError>;

struct FailpointSpec {
  std::map<std::string, FailpointAction, std::less<>> actions;
  std::vector<std::string> errors;  // one per malformed entry
};

// Pure: "after_claim=abort,before_commit=sleep(200),x=error".
FailpointSpec ParseFailpoints(std::string_view text);

// Reads REDRIVE_FAILPOINTS once; a malformed value is reported by the caller at start-up.
const FailpointSpec& ActiveFailpoints();

// Runs the action configured for `name`, if any: abort() kills the process on the spot (a
// crash at the worst moment), sleep blocks the calling thread, error returns true so the
// caller takes its failure path. Returns false when nothing is configured.
bool HitFailpoint(std::string_view name);

}  // namespace redrive::runtime
