#pragma once

#include <string>

namespace redrive::runtime {

// "<hostname>-<pid>": unique per process (in Kubernetes the host name is the pod name).
// Used as claimed_by / lease holder and as the sessions' application_name, so it is cut to
// PostgreSQL's 63-byte application_name limit, keeping the distinctive tail.
std::string DefaultInstanceId();

}  // namespace redrive::runtime
