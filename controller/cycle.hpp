#pragma once

#include <memory>
#include <vector>

#include "controller/reconcilers/reconciler.hpp"
#include "core/domain/clock.hpp"

namespace redrive::controller {

struct CycleReport {
  bool ok = true;  // every reconciler finished without error
  int acted = 0;
  int conflicts = 0;
  int deferred = 0;
};

// One cycle: each reconciler in order (claims first, so stuck-order classification sees
// the freshest claim state), each timed and counted; one failing reconciler does not stop
// the others.
CycleReport RunCycle(const std::vector<std::unique_ptr<Reconciler>>& reconcilers,
                     CycleContext& context, const Clock& clock);

}  // namespace redrive::controller
