#pragma once

#include <memory>
#include <vector>

#include "controller/reconcilers/reconciler.hpp"

namespace redrive::controller {

// Every reconciler of a cycle, in the order a cycle runs them: the controller's loop and
// `redrivectl plan` share this list, so a plan is what the next cycle would do.
std::vector<std::unique_ptr<Reconciler>> BuildReconcilers();

}  // namespace redrive::controller
