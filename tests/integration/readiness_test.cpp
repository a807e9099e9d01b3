// Probes against a real PostgreSQL that goes away: readiness follows the database,
// liveness never does.
#include <doctest/doctest.h>

#include "core/http/admin_server.hpp"
#include "core/metrics/metrics.hpp"
#include "core/pg/database_watch.hpp"
#include "core/runtime/health.hpp"
#include "core/runtime/system_clock.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/process.hpp"

using redrive::testing::HttpGet;
using redrive::testing::WaitUntil;

TEST_CASE("readyz turns 503 when PostgreSQL stops while healthz stays 200, and recovers") {
  // A private cluster: stopping the shared one would break tests running beside this one.
  auto cluster = redrive::testing::PgCluster::Start();
  redrive::runtime::SystemClock clock;
  redrive::runtime::Health health(clock, std::chrono::seconds(30));
  redrive::metrics::Registry registry({.component = "test", .version = "0.0.0"});
  redrive::http::AdminServer server({.listen = "127.0.0.1:0"}, health, registry);
  server.Start();

  redrive::config::Database database;
  database.url = cluster->Url();
  database.connect_timeout_seconds = 2;
  redrive::pg::DatabaseWatch watch(
      database, std::chrono::milliseconds(100), [&](const std::optional<std::string>& error) {
        health.SetReady("database", !error.has_value(), error.value_or(""));
        health.Beat();
      });

  const int port = server.port();
  CHECK(WaitUntil([&] { return HttpGet(port, "/readyz").status == 200; }));

  cluster->Stop();
  CHECK(WaitUntil([&] { return HttpGet(port, "/readyz").status == 503; }));
  const auto ready = HttpGet(port, "/readyz");
  CHECK(ready.body.find("database") != std::string::npos);
  CHECK(HttpGet(port, "/healthz").status == 200);

  cluster->StartAgain();
  CHECK(WaitUntil([&] { return HttpGet(port, "/readyz").status == 200; }));
}
