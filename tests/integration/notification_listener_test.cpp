// pg::NotificationListener against a real PostgreSQL: it wakes its owner for every NOTIFY on
// its channel, and it can stop listening (a busy worker) and start again without losing a
// wake-up.
#include "core/pg/notification_listener.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <pqxx/pqxx>
#include <thread>

#include "tests/support/pg_cluster.hpp"
#include "tests/support/process.hpp"

namespace {

using namespace std::chrono_literals;
using redrive::testing::MigratedDatabase;
using redrive::testing::WaitUntil;

constexpr const char* kChannel = "redrive_outbox_webhook";
constexpr const char* kApplication = "listener-under-test";

void Notify(const std::string& url) {
  pqxx::connection connection(url);
  pqxx::nontransaction tx(connection);
  tx.exec(std::string("NOTIFY ") + kChannel);
}

// The listener session's last statement, as pg_stat_activity shows it.
std::string LastStatement(const std::string& url) {
  pqxx::connection connection(url);
  pqxx::nontransaction tx(connection);
  const auto rows = tx.exec_params("SELECT query FROM pg_stat_activity WHERE application_name = $1",
                                   kApplication);
  return rows.empty() ? "" : rows[0][0].as<std::string>();
}

struct Listener {
  explicit Listener(const std::string& url)
      : listener(redrive::config::Database{.url = url}, kApplication, kChannel,
                 {.wake = [this] { ++wakes; }, .connected = [](bool, const std::string&) {}}) {}
  std::atomic<int> wakes{0};
  redrive::pg::NotificationListener listener;
};

}  // namespace

TEST_CASE("the notification listener wakes once on connect and once per NOTIFY") {
  MigratedDatabase database;
  Listener subject(database.Url());
  REQUIRE(WaitUntil([&] { return subject.wakes >= 1; }, 10s));  // the catch-up poll
  const int before = subject.wakes;
  Notify(database.Url());
  CHECK(WaitUntil([&] { return subject.wakes >= before + 1; }, 5s));
}

TEST_CASE("a quiet notification listener UNLISTENs, then listens again and polls once") {
  MigratedDatabase database;
  Listener subject(database.Url());
  REQUIRE(WaitUntil([&] { return subject.wakes >= 1; }, 10s));
  REQUIRE(WaitUntil([&] { return LastStatement(database.Url()).rfind("LISTEN", 0) == 0; }, 5s));

  subject.listener.SetListening(false);
  REQUIRE(WaitUntil([&] { return LastStatement(database.Url()).rfind("UNLISTEN", 0) == 0; }, 5s));
  const int quiet = subject.wakes;
  Notify(database.Url());
  std::this_thread::sleep_for(300ms);
  CHECK(subject.wakes == quiet);  // not woken: it is not listening

  subject.listener.SetListening(true);
  // The catch-up wake-up for whatever was sent while it was quiet, then NOTIFYs again.
  CHECK(WaitUntil([&] { return subject.wakes >= quiet + 1; }, 5s));
  CHECK(LastStatement(database.Url()).rfind("LISTEN", 0) == 0);
  const int listening = subject.wakes;
  Notify(database.Url());
  CHECK(WaitUntil([&] { return subject.wakes >= listening + 1; }, 5s));
}
