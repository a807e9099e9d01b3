// TLS to PostgreSQL (database.sslmode, database.sslrootcert) against a private cluster with
// ssl = on and a certificate for "localhost" signed by a throwaway CA: what encrypts, what
// verifies, and what the real binaries say when they refuse a server.
#include <doctest/doctest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config/config.hpp"
#include "core/pg/connect.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/redrive_processes.hpp"

namespace {

using namespace redrive::testing;
using namespace std::chrono_literals;

void Openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandResult result = RunCommand(argv);
  if (result.exit_code != 0) throw std::runtime_error("openssl failed: " + result.output);
}

// A self-signed CA: key and certificate in `dir`.
void MakeCa(const std::string& dir, const std::string& name, const std::string& subject) {
  Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", dir + "/" + name + ".key", "-out", dir + "/" + name + ".crt", "-days", "2",
           "-subj", "/CN=" + subject});
}

// The server's key must belong to the user the server runs as, and be private to it.
void GiveKeyToServer(const std::string& path) {
  ::chmod(path.c_str(), 0600);
  if (::geteuid() != 0) return;
  const passwd* user = ::getpwnam("postgres");
  if (user == nullptr || ::chown(path.c_str(), user->pw_uid, user->pw_gid) != 0) {
    throw std::runtime_error("cannot give " + path + " to postgres");
  }
}

// Certificates in a temp folder: ca (signs the server's), other-ca (signs nothing we
// use), and server.crt for DNS:localhost only, so 127.0.0.1 does not match it.
class Certificates {
 public:
  Certificates() : dir_(MakeTempDir("redrive-tls")) {
    ::chmod(dir_.c_str(), 0755);  // the server (user postgres) reads its files here
    MakeCa(dir_, "ca", "redrive test CA");
    MakeCa(dir_, "other-ca", "someone else's CA");
    Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", dir_ + "/server.key", "-out", dir_ + "/server.csr", "-subj",
             "/CN=localhost"});
    std::ofstream(dir_ + "/server.ext") << "subjectAltName = DNS:localhost\n"
                                        << "basicConstraints = CA:FALSE\n"
                                        << "keyUsage = digitalSignature, keyEncipherment\n"
                                        << "extendedKeyUsage = serverAuth\n";
    Openssl({"x509", "-req", "-in", dir_ + "/server.csr", "-CA", dir_ + "/ca.crt", "-CAkey",
             dir_ + "/ca.key", "-CAcreateserial", "-out", dir_ + "/server.crt", "-days", "2",
             "-extfile", dir_ + "/server.ext"});
    ::chmod((dir_ + "/server.crt").c_str(), 0644);
    GiveKeyToServer(dir_ + "/server.key");
  }
  ~Certificates() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  Certificates(const Certificates&) = delete;
  Certificates& operator=(const Certificates&) = delete;

  std::string Path(const std::string& file) const { return dir_ + "/" + file; }
  std::string ServerConfig() const {
    return "ssl = on\nssl_cert_file = '" + Path("server.crt") + "'\nssl_key_file = '" +
           Path("server.key") + "'\n";
  }

 private:
  std::string dir_;
};

// A private cluster serving TLS, with one migrated database. Clients may still connect
// without TLS (pg_hba is `host ... trust`), so what a setting does is visible.
struct TlsServer {
  Certificates certificates;
  std::unique_ptr<PgCluster> cluster = PgCluster::Start(certificates.ServerConfig());
  MigratedDatabase database{*cluster};
  std::string empty_home = MakeTempDir("redrive-home");  // no ~/.postgresql/root.crt here

  ~TlsServer() {
    std::error_code ignored;
    std::filesystem::remove_all(empty_home, ignored);
  }
  // The url as an application would write it, by IP or by the certificate's name.
  std::string UrlByIp() const { return database.Url(); }
  std::string UrlByName() const {
    return "postgresql://redrive@localhost:" + std::to_string(cluster->port()) + "/" +
           database.name() + "?hostaddr=127.0.0.1";
  }
};

// Whether a session opened with these settings is encrypted, per the server.
bool SessionUsesTls(const std::string& url, const std::string& sslmode,
                    const std::string& sslrootcert = "") {
  redrive::config::Database settings;
  settings.url = url;
  settings.sslmode = sslmode;
  settings.sslrootcert = sslrootcert;
  auto connection = redrive::pg::Connect(settings, "security-tls-test");
  pqxx::nontransaction tx(*connection);
  return tx.exec1("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")[0].as<bool>();
}

struct Split {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// `redrivectl status` with these environment settings, stdout and stderr apart.
Split RedrivectlStatus(const TlsServer& server, std::map<std::string, std::string> env) {
  const std::string dir = MakeTempDir("redrive-ctl");
  env["HOME"] = server.empty_home;
  ChildProcess process({BinaryPath("redrivectl"), "status"},
                       ProcessOptions{.env = env,
                                      .stdout_path = dir + "/out",
                                      .stderr_path = dir + "/err",
                                      .own_process_group = false});
  Split result;
  result.exit_code = process.Wait(60s).value_or(-1);
  result.out = ReadFile(dir + "/out");
  result.err = ReadFile(dir + "/err");
  std::filesystem::remove_all(dir);
  return result;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE(
    "security: database.sslmode decides whether the session is encrypted, and wins over "
    "the url") {
  TlsServer server;
  CHECK(SessionUsesTls(server.UrlByIp(), "require"));
  CHECK_FALSE(SessionUsesTls(server.UrlByIp(), "disable"));
  CHECK(SessionUsesTls(server.UrlByIp(), ""));  // unset: libpq's prefer, and the server offers
  // Set, the key beats the url's sslmode, in both directions; unset, the url's stands.
  CHECK(SessionUsesTls(server.UrlByIp() + "?sslmode=disable", "require"));
  CHECK_FALSE(SessionUsesTls(server.UrlByIp() + "?sslmode=require", "disable"));
  CHECK_FALSE(SessionUsesTls(server.UrlByIp() + "?sslmode=disable", ""));
  // The same for a key=value url, and for sslrootcert.
  const std::string key_value =
      "host=localhost hostaddr=127.0.0.1 port=" + std::to_string(server.cluster->port()) +
      " user=redrive dbname=" + server.database.name() +
      " sslmode=disable sslrootcert=/nonexistent/ca.crt";
  CHECK(SessionUsesTls(key_value, "verify-full", server.certificates.Path("ca.crt")));

  const Split status = RedrivectlStatus(server, {{"REDRIVE_DATABASE_URL", server.UrlByIp()},
                                                 {"REDRIVE_DATABASE_SSLMODE", "require"}});
  INFO(status.err);
  CHECK(status.exit_code == 0);
}

TEST_CASE("security: verify-full refuses a server it cannot verify, and the binaries say why") {
  TlsServer server;

  SUBCASE("no root certificate") {
    const Split status = RedrivectlStatus(server, {{"REDRIVE_DATABASE_URL", server.UrlByName()},
                                                   {"REDRIVE_DATABASE_SSLMODE", "verify-full"}});
    INFO(status.err);
    CHECK(status.exit_code == 1);
    CHECK(Contains(status.err, "root certificate file"));
    CHECK(Contains(status.err, "does not exist"));
    CHECK(status.out.empty());
  }
  SUBCASE("a certificate from another CA") {
    const Split status = RedrivectlStatus(
        server, {{"REDRIVE_DATABASE_URL", server.UrlByName()},
                 {"REDRIVE_DATABASE_SSLMODE", "verify-full"},
                 {"REDRIVE_DATABASE_SSLROOTCERT", server.certificates.Path("other-ca.crt")}});
    INFO(status.err);
    CHECK(status.exit_code == 1);
    CHECK(Contains(status.err, "certificate verify failed"));
  }
  SUBCASE("the right CA, but the url names a host the certificate is not for") {
    const Split status = RedrivectlStatus(
        server, {{"REDRIVE_DATABASE_URL", server.UrlByIp()},
                 {"REDRIVE_DATABASE_SSLMODE", "verify-full"},
                 {"REDRIVE_DATABASE_SSLROOTCERT", server.certificates.Path("ca.crt")}});
    INFO(status.err);
    CHECK(status.exit_code == 1);
    CHECK(Contains(status.err, "does not match host name"));
    // verify-ca checks the chain only, so the same url is accepted.
    const Split ca_only = RedrivectlStatus(
        server, {{"REDRIVE_DATABASE_URL", server.UrlByIp()},
                 {"REDRIVE_DATABASE_SSLMODE", "verify-ca"},
                 {"REDRIVE_DATABASE_SSLROOTCERT", server.certificates.Path("ca.crt")}});
    INFO(ca_only.err);
    CHECK(ca_only.exit_code == 0);
  }
  SUBCASE("a worker keeps running, not ready, and logs the reason") {
    WorkerProcess worker(
        server.UrlByName(), "payment",
        {{"HOME", server.empty_home},
         {"REDRIVE_DATABASE_SSLMODE", "verify-full"},
         {"REDRIVE_DATABASE_SSLROOTCERT", server.certificates.Path("other-ca.crt")}});
    CHECK(WaitUntil([&] { return Contains(worker.Log(), "certificate verify failed"); }));
    INFO(worker.Log());
    CHECK(worker.process().Running());
    CHECK(HttpGet(worker.admin_port(), "/readyz").status == 503);
  }
}

TEST_CASE(
    "security: verify-full with the right CA and host name connects, and a worker pays "
    "over TLS") {
  TlsServer server;
  const std::string ca = server.certificates.Path("ca.crt");
  CHECK(SessionUsesTls(server.UrlByName(), "verify-full", ca));

  const Split status = RedrivectlStatus(server, {{"REDRIVE_DATABASE_URL", server.UrlByName()},
                                                 {"REDRIVE_DATABASE_SSLMODE", "verify-full"},
                                                 {"REDRIVE_DATABASE_SSLROOTCERT", ca}});
  INFO(status.err);
  CHECK(status.exit_code == 0);
  CHECK_FALSE(status.out.empty());

  GatewaySim gateway;
  WorkerProcess worker(server.UrlByName(), "payment",
                       {{"HOME", server.empty_home},
                        {"REDRIVE_GATEWAY_URL", gateway.Url()},
                        {"REDRIVE_WORKER_INSTANCE_ID", "tls-worker"},
                        {"REDRIVE_DATABASE_SSLMODE", "verify-full"},
                        {"REDRIVE_DATABASE_SSLROOTCERT", ca}});
  REQUIRE(worker.WaitReady());
  const std::string order = PlaceOrder(server.UrlByIp(), 2500);
  CHECK(WaitForValue(server.UrlByIp(), "SELECT state FROM orders WHERE id = '" + order + "'",
                     "PAID"));
  // Every session the worker holds is encrypted.
  CHECK(QueryValue(server.UrlByIp(),
                   "SELECT count(*) > 0 AND bool_and(s.ssl) FROM pg_stat_activity a "
                   "JOIN pg_stat_ssl s USING (pid) WHERE a.application_name = 'tls-worker'") ==
        "t");
}
