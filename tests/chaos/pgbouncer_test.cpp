// PgBouncer in front of PostgreSQL: in transaction mode one server session serves many
// clients, which breaks LISTEN and live-claim detection, so redrive refuses to start and
// says why; in session mode it runs as usual.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/support/pg_cluster.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redrive_processes.hpp"

namespace {

using namespace std::chrono_literals;
using namespace redrive::testing;

// Debian's pgbouncer on 127.0.0.1 at a free port, in front of the shared test cluster.
// Like PostgreSQL it refuses to run as root, so it runs as `postgres` when the tests are.
class PgBouncer {
 public:
  PgBouncer(const std::string& database, const std::string& pool_mode)
      : dir_(MakeTempDir("redrive-pgbouncer")), port_(FreeLoopbackPort()) {
    const PgCluster& cluster = SharedCluster();
    std::ofstream(dir_ + "/users.txt") << "\"redrive\" \"\"\n";
    std::ofstream(dir_ + "/pgbouncer.ini")
        << "[databases]\n"
        << database << " = host=127.0.0.1 port=" << cluster.port() << " dbname=" << database
        << "\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = " << port_
        << "\nunix_socket_dir =\nauth_type = trust\nauth_file = " << dir_
        << "/users.txt\npool_mode = " << pool_mode << "\ndefault_pool_size = 40\n"
        << "logfile = " << dir_
        << "/pgbouncer.log\n"
        // redrive sends its statement timeout as the `options` startup parameter, which
        // PgBouncer refuses unless told to ignore it (as a deployment would).
        << "ignore_startup_parameters = options\n";
    std::vector<std::string> argv = {"/usr/sbin/pgbouncer", dir_ + "/pgbouncer.ini"};
    if (::geteuid() == 0) {
      // -u drops to `postgres` inside pgbouncer itself, so the pid we hold (and kill) is its.
      RunCommand({"/bin/chown", "-R", "postgres:postgres", dir_});
      argv.insert(argv.begin() + 1, {"-u", "postgres"});
    }
    process_ = std::make_unique<ChildProcess>(argv);
    const std::string url = Url(database);
    if (!WaitUntil([&] {
          try {
            QueryValue(url, "SELECT 1");
            return true;
          } catch (const std::exception&) {
            return false;
          }
        })) {
      throw std::runtime_error("pgbouncer did not start: " + ReadFile(dir_ + "/pgbouncer.log"));
    }
  }
  ~PgBouncer() {
    process_.reset();  // SIGKILL by pid, reaped
    std::filesystem::remove_all(dir_);
  }

  std::string Url(const std::string& database) const {
    return "postgresql://redrive@127.0.0.1:" + std::to_string(port_) + "/" + database;
  }

 private:
  std::string dir_;
  int port_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace

TEST_CASE("chaos: behind PgBouncer in transaction mode, redrive refuses to start and says why") {
  MigratedDatabase database;
  PgBouncer bouncer(database.name(), "transaction");
  for (const std::string binary : {"redrive-worker", "redrive-controller"}) {
    INFO(binary);
    std::vector<std::string> argv = {BinaryPath(binary)};
    if (binary == "redrive-worker") argv.insert(argv.end(), {"--consumer", "noop"});
    const auto started =
        RunCommand(argv, {{"REDRIVE_DATABASE_URL", bouncer.Url(database.name())}}, 30s);
    CHECK(started.exit_code == 2);
    CHECK(started.output.find("pool_mode=session") != std::string::npos);
    CHECK(started.output.find("shared PostgreSQL session") != std::string::npos);
  }
}

TEST_CASE("chaos: behind PgBouncer in session mode, a worker starts and drains as usual") {
  MigratedDatabase database;
  PgBouncer bouncer(database.name(), "session");
  WorkerProcess worker(bouncer.Url(database.name()), "noop");
  REQUIRE(worker.WaitReady());
  Execute(database.Url(),
          "INSERT INTO outbox (event_id, consumer, event_type, payload) "
          "SELECT gen_random_uuid(), 'noop', 'Ping', '{}' FROM generate_series(1, 50)");
  CHECK(WaitForValue(database.Url(),
                     "SELECT count(*) FROM processed_events WHERE consumer = 'noop'", "50"));
  CHECK(QueryValue(database.Url(), "SELECT count(*) FROM outbox") == "0");
}
