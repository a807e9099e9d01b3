#pragma once

// What the controller's main loop hands each reconciler, built by hand for tests: default
// configuration, one connection, the lease taken by `kControllerTestInstance`.
#include <doctest/doctest.h>

#include <pqxx/pqxx>

#include "controller/reconcilers/reconciler.hpp"
#include "core/decide/redrive_budget.hpp"
#include "core/metrics/controller_metrics.hpp"
#include "core/pg/leader_lease.hpp"
#include "tests/support/pg_cluster.hpp"

namespace redrive::testing {

inline constexpr const char* kControllerTestInstance = "controller-test";

inline pg::Fence TakeLease(pqxx::connection_base& connection, const std::string& holder) {
  const auto state = pg::AcquireOrRenew(connection, pg::kControllerLease, holder, std::nullopt,
                                        std::chrono::seconds(60));
  REQUIRE(state.held);
  return {.lease_name = pg::kControllerLease, .holder = holder, .epoch = state.epoch};
}

struct ControllerHarness {
  explicit ControllerHarness(std::string cycle) : cycle_id(std::move(cycle)) {}

  std::string cycle_id;
  MigratedDatabase database;
  std::string url = database.Url();
  pqxx::connection connection{url};
  config::Config config;
  metrics::Registry registry{{.component = "controller", .version = "test"}};
  metrics::ControllerMetrics metrics{registry};
  decide::RedriveBudget budget{100, false};
  pg::Fence fence = TakeLease(connection, kControllerTestInstance);

  controller::CycleContext Context(bool dry_run = false) {
    return controller::CycleContext{
        .config = config,
        .fence = fence,
        .instance_id = kControllerTestInstance,
        .cycle_id = cycle_id,
        .dry_run = dry_run,
        .budget = budget,
        .metrics = metrics,
        .with_connection = [this](const auto& work) { work(connection); },
        .gateway = nullptr,
        .uniform01 = [] { return 0.5; }};
  }
};

}  // namespace redrive::testing
