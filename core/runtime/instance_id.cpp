#include "core/runtime/instance_id.hpp"

#include <unistd.h>

namespace redrive::runtime {

std::string DefaultInstanceId() {
  constexpr std::size_t kMaxApplicationName = 63;
  char host[256] = {};
  std::string name = ::gethostname(host, sizeof host - 1) == 0 ? host : "redrive";
  std::string id = name + "-" + std::to_string(::getpid());
  if (id.size() > kMaxApplicationName) id = id.substr(id.size() - kMaxApplicationName);
  return id;
}

}  // namespace redrive::runtime
