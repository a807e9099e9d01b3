#pragma once

#include <memory>
#include <string>

namespace redrive::testing {

// A throwaway PostgreSQL cluster in a temporary folder, listening on 127.0.0.1 at a free
// port with trust authentication for the superuser `redrive`. PostgreSQL refuses to run as
// root, so when the tests run as root the server runs as the `postgres` user.
class PgCluster {
 public:
  // initdb + pg_ctl start; throws with the server log when it cannot start. `extra_conf`
  // is appended to postgresql.conf, e.g. "ssl = on\nssl_cert_file = '/path'\n" (files it
  // names must be readable by the server's user).
  static std::unique_ptr<PgCluster> Start(const std::string& extra_conf = "");
  // Attaches to a cluster that `redrive-test-pg start DIR` left running.
  static std::unique_ptr<PgCluster> Attach(const std::string& state_dir);
  ~PgCluster();  // stops the server and removes the folder, unless attached

  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string Url(const std::string& database = "postgres") const;

  void Stop();                                          // fast shutdown; waits
  void StopImmediately();                               // like a crash: no checkpoint, clients cut
  void StartAgain();                                    // same folder, same port
  void WriteState(const std::string& state_dir) const;  // for Attach
  void Detach() { owned_ = false; }                     // leave it running when this object dies
  static void StopFromState(const std::string& state_dir);

 private:
  PgCluster(std::string dir, int port, bool owned);
  void RunCtl(const std::string& action, const std::string& mode = "");

  std::string dir_;
  int port_;
  bool owned_;
  bool running_ = true;
};

// The cluster every test in this process shares: the ctest fixture's (REDRIVE_TEST_PG_STATE)
// or, when a test binary runs on its own, one started on first use and stopped at exit.
PgCluster& SharedCluster();

// A fresh, empty database in the shared cluster, dropped when the object dies. Use one per
// test so tests can run in parallel and never see each other's rows.
class TestDatabase {
 public:
  TestDatabase();
  explicit TestDatabase(PgCluster& cluster);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& name() const { return name_; }
  std::string Url() const { return cluster_.Url(name_); }

 private:
  PgCluster& cluster_;
  std::string name_;
};

// A fresh database with every redrive migration applied.
class MigratedDatabase : public TestDatabase {
 public:
  MigratedDatabase();
  explicit MigratedDatabase(PgCluster& cluster);
};

}  // namespace redrive::testing
