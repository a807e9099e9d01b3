#include "tests/support/pg_cluster.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <stdexcept>

#include "core/pg/migrations.hpp"
#include "tests/support/process.hpp"

namespace redrive::testing {
namespace {

constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin";

bool RunningAsRoot() {
  return ::geteuid() == 0;
}

// Prefixes a PostgreSQL command so it runs as `postgres` when we are root.
std::vector<std::string> AsServerUser(std::vector<std::string> argv) {
  if (!RunningAsRoot()) return argv;
  std::vector<std::string> wrapped = {"/usr/sbin/runuser", "-u", "postgres", "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

void GiveToServerUser(const std::string& path) {
  if (!RunningAsRoot()) return;
  const passwd* user = ::getpwnam("postgres");
  if (user == nullptr) throw std::runtime_error("running as root but there is no postgres user");
  if (::chown(path.c_str(), user->pw_uid, user->pw_gid) != 0) {
    throw std::runtime_error("cannot chown " + path + " to postgres");
  }
}

void Check(const CommandResult& result, const std::string& what, const std::string& log = "") {
  if (result.exit_code == 0) return;
  throw std::runtime_error(what + " failed (exit " + std::to_string(result.exit_code) +
                           "): " + result.output + (log.empty() ? "" : "\nserver log:\n" + log));
}

std::string UniqueDatabaseName() {
  static std::atomic<int> counter{0};
  return "redrive_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

}  // namespace

PgCluster::PgCluster(std::string dir, int port, bool owned)
    : dir_(std::move(dir)), port_(port), owned_(owned) {}

std::unique_ptr<PgCluster> PgCluster::Start(const std::string& extra_conf) {
  const std::string dir = MakeTempDir("redrive-pg");
  ::chmod(dir.c_str(), 0755);
  GiveToServerUser(dir);
  Check(RunCommand(
            AsServerUser({std::string(kPgBin) + "/initdb", "-D", dir + "/data", "-U", "redrive",
                          "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"})),
        "initdb");
  // Throwaway data: no fsync (an OS crash may lose it; a server crash may not), but commits
  // stay synchronous, so the crash tests' "acknowledged means durable" still holds.
  // Enough connections for many workers.
  std::ofstream conf(dir + "/data/postgresql.conf", std::ios::app);
  conf << "fsync = off\nfull_page_writes = off\n"
       << "max_connections = 300\nunix_socket_directories = '" << dir << "'\n"
       << "listen_addresses = '127.0.0.1'\n"
       << extra_conf << "\n";
  conf.close();

  // A free port can be taken between our probe and the server's bind; try a few.
  for (int attempt = 0;; ++attempt) {
    auto cluster = std::unique_ptr<PgCluster>(new PgCluster(dir, FreeLoopbackPort(), true));
    try {
      cluster->running_ = false;
      cluster->StartAgain();
      return cluster;
    } catch (const std::exception&) {
      if (attempt == 2) throw;
    }
  }
}

std::unique_ptr<PgCluster> PgCluster::Attach(const std::string& state_dir) {
  std::ifstream in(state_dir + "/cluster");
  std::string dir;
  int port = 0;
  if (!(in >> dir >> port)) throw std::runtime_error("no cluster state in " + state_dir);
  return std::unique_ptr<PgCluster>(new PgCluster(dir, port, false));
}

void PgCluster::WriteState(const std::string& state_dir) const {
  std::filesystem::create_directories(state_dir);
  std::ofstream out(state_dir + "/cluster");
  out << dir_ << " " << port_ << "\n";
}

void PgCluster::StopFromState(const std::string& state_dir) {
  auto cluster = Attach(state_dir);
  cluster->owned_ = true;  // the destructor stops it and removes its folder
  std::filesystem::remove(state_dir + "/cluster");
}

PgCluster::~PgCluster() {
  if (!owned_) return;
  try {
    if (running_) Stop();
  } catch (...) {
    // Best effort: a test that already failed should not also abort in a destructor.
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string PgCluster::Url(const std::string& database) const {
  return "postgresql://redrive@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

void PgCluster::RunCtl(const std::string& action, const std::string& mode) {
  std::vector<std::string> argv = {
      std::string(kPgBin) + "/pg_ctl", action, "-D", dir_ + "/data", "-w", "-t", "60"};
  if (!mode.empty()) argv.insert(argv.end(), {"-m", mode});
  if (action == "start") {
    argv.insert(argv.end(), {"-l", dir_ + "/server.log", "-o", "-p " + std::to_string(port_)});
  }
  Check(RunCommand(AsServerUser(argv), {}, std::chrono::seconds(90)), "pg_ctl " + action,
        action == "start" ? ReadFile(dir_ + "/server.log") : "");
}

void PgCluster::Stop() {
  RunCtl("stop", "fast");
  running_ = false;
}

void PgCluster::StopImmediately() {
  RunCtl("stop", "immediate");
  running_ = false;
}

void PgCluster::StartAgain() {
  RunCtl("start");
  running_ = true;
}

PgCluster& SharedCluster() {
  static std::unique_ptr<PgCluster> cluster = [] {
    const char* state = std::getenv("REDRIVE_TEST_PG_STATE");
    if (state != nullptr && std::filesystem::exists(std::string(state) + "/cluster")) {
      return PgCluster::Attach(state);
    }
    return PgCluster::Start();
  }();
  return *cluster;
}

TestDatabase::TestDatabase() : TestDatabase(SharedCluster()) {}

TestDatabase::TestDatabase(PgCluster& cluster) : cluster_(cluster), name_(UniqueDatabaseName()) {
  pqxx::connection admin(cluster_.Url());
  pqxx::nontransaction tx(admin);
  tx.exec0("CREATE DATABASE " + tx.quote_name(name_));
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection admin(cluster_.Url());
    pqxx::nontransaction tx(admin);
    tx.exec0("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
  } catch (...) {
    // The cluster may be stopped on purpose by the test; the folder goes with it.
  }
}

MigratedDatabase::MigratedDatabase() : MigratedDatabase(SharedCluster()) {}

MigratedDatabase::MigratedDatabase(PgCluster& cluster) : TestDatabase(cluster) {
  pqxx::connection connection(Url());
  pg::Migrate(connection);
}

}  // namespace redrive::testing
