#include "tests/support/local_system.hpp"

#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

#include "tests/support/http_client.hpp"
#include "tests/support/redrive_processes.hpp"

namespace redrive::testing {
namespace {

constexpr auto kReadyTimeout = std::chrono::seconds(30);
constexpr auto kDrainGrace = std::chrono::seconds(10);

std::string RandomHex(std::size_t bytes) {
  std::random_device device;
  std::string hex;
  for (std::size_t i = 0; i < bytes; ++i) {
    char pair[3];
    std::snprintf(pair, sizeof pair, "%02x", static_cast<unsigned>(device() & 0xff));
    hex += pair;
  }
  return hex;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream file(path);
  file << text;
  if (!file) throw std::runtime_error("cannot write " + path);
}

std::string PrometheusBinDir() {
  const char* configured = std::getenv("REDRIVE_PROMETHEUS_BIN");
  return configured != nullptr ? configured : "/var/cache/redrive-tools/prometheus/usr/bin";
}

// Prometheus static targets: the controllers' admin ports, or the workers'.
std::string Targets(const std::vector<Service*>& services, bool controllers) {
  std::string targets;
  for (const Service* service : services) {
    const bool controller = service->name().rfind("controller-", 0) == 0;
    if (controller != controllers) continue;
    targets += (targets.empty() ? "'" : ", '") + std::string("127.0.0.1:") +
               std::to_string(service->admin_port()) + "'";
  }
  return "[" + targets + "]";
}

}  // namespace

nlohmann::json RealisticGatewayFaults() {
  return {{"latency_ms", 25},           {"decline_rate", 0.05},
          {"error_rate", 0.03},         {"error_after_charge_rate", 0.02},
          {"drop_response_rate", 0.02}, {"timeout_rate", 0.005}};
}

LocalSystem::LocalSystem(LocalSystemOptions options)
    : options_(std::move(options)),
      folder_(options_.folder.empty() ? MakeTempDir("redrive-system") : options_.folder),
      webhook_secret_("whsec_" + RandomHex(16)) {
  std::filesystem::create_directories(folder_ + "/logs");
  StartDatabase();
  StartGateway();
  StartServices();
  if (options_.prometheus) StartPrometheus();
}

LocalSystem::~LocalSystem() {
  Stop();
}

void LocalSystem::StartDatabase() {
  cluster_ = PgCluster::Start();
  Execute(cluster_->Url("postgres"), "CREATE DATABASE redrive");
  database_url_ = cluster_->Url("redrive");
}

void LocalSystem::StartGateway() {
  gateway_port_ = FreeLoopbackPort();
  const auto& faults = options_.gateway_faults;
  std::vector<std::string> argv = {BinaryPath("gateway-sim"),
                                   "--listen",
                                   "127.0.0.1:" + std::to_string(gateway_port_),
                                   "--threads",
                                   "2",
                                   "--seed",
                                   "7",
                                   "--log-level",
                                   "warn"};
  for (const auto& [knob, value] : faults.items()) {
    std::string flag = "--" + knob;
    std::replace(flag.begin(), flag.end(), '_', '-');
    argv.push_back(flag);
    argv.push_back(value.dump());
  }
  const std::string log = folder_ + "/logs/gateway-sim.log";
  gateway_ = std::make_unique<ChildProcess>(
      argv,
      ProcessOptions{.env = {}, .stdout_path = log, .stderr_path = log, .own_process_group = true});
  if (!WaitUntil([&] {
        return !gateway_->Running() || HttpGet(gateway_port_, "/healthz").status == 200;
      }) ||
      !gateway_->Running()) {
    throw std::runtime_error("gateway-sim did not start; see " + log);
  }
}

void LocalSystem::StartServices() {
  // What an operator would put in the ConfigMap, tuned so that a one-minute demo shows
  // leases expiring and stuck orders being re-driven. The webhook secret stays out of the
  // file and comes from the environment, as it would from a Secret.
  config_path_ = folder_ + "/redrive.yaml";
  WriteFile(config_path_, "database:\n  url: " + database_url_ +
                              "\n"
                              "gateway:\n"
                              "  url: " +
                              GatewayUrl() +
                              "\n"
                              "  timeout_ms: 1000\n"
                              "  breaker_failure_threshold: 5\n"
                              "  breaker_open_seconds: 3\n"
                              "webhook:\n"
                              "  url: " +
                              receiver_.Url() +
                              "\n"
                              "worker:\n"
                              "  concurrency: 16\n"
                              "  lease_seconds: 5\n"
                              "  poll_interval_ms: 500\n"
                              "  backoff_base_ms: 100\n"
                              "  backoff_max_ms: 2000\n"
                              "  shutdown_grace_seconds: 5\n"
                              "controller:\n"
                              "  interval_seconds: 1\n"
                              "  lease_seconds: 4\n"
                              "  lease_renew_deadline_seconds: 3\n"
                              "  lease_retry_seconds: 1\n"
                              "  stuck_after_seconds: 5\n"
                              "  backlog_alert_seconds: 10\n");

  const auto migrate = RunCommand({BinaryPath("redrivectl"), "--config", config_path_, "migrate"});
  if (migrate.exit_code != 0) throw std::runtime_error("redrivectl migrate: " + migrate.output);

  const auto make = [&](const std::string& name, std::vector<std::string> argv,
                        const std::string& id_variable) {
    argv.insert(argv.end(), {"--config", config_path_});
    std::map<std::string, std::string> env = options_.env;
    env["REDRIVE_WEBHOOK_SECRET"] = webhook_secret_;
    env[id_variable] = name;
    return std::make_unique<Service>(name, std::move(argv), std::move(env),
                                     folder_ + "/logs/" + name + ".log");
  };
  const std::string worker = BinaryPath("redrive-worker");
  const std::string controller = BinaryPath("redrive-controller");
  for (int i = 1; i <= options_.payment_workers; ++i) {
    payment_workers_.push_back(make("payment-" + std::to_string(i),
                                    {worker, "--consumer", "payment"},
                                    "REDRIVE_WORKER_INSTANCE_ID"));
  }
  for (int i = 1; i <= options_.webhook_workers; ++i) {
    webhook_workers_.push_back(make("webhook-" + std::to_string(i),
                                    {worker, "--consumer", "webhook"},
                                    "REDRIVE_WORKER_INSTANCE_ID"));
  }
  for (int i = 1; i <= options_.controllers; ++i) {
    controllers_.push_back(
        make("controller-" + std::to_string(i), {controller}, "REDRIVE_CONTROLLER_INSTANCE_ID"));
  }
  for (Service* service : services()) service->Start();
  for (Service* service : services()) {
    if (!service->WaitReady(kReadyTimeout)) {
      throw std::runtime_error(service->name() + " did not become ready; see " +
                               service->log_path());
    }
  }
}

void LocalSystem::StartPrometheus() {
  const std::string bin = PrometheusBinDir() + "/prometheus";
  if (!std::filesystem::exists(bin)) {
    prometheus_note_ = "Prometheus not started: " + bin +
                       " is missing (scripts/fetch-prometheus unpacks Debian's package)";
    return;
  }
  const std::string rules = std::string(REDRIVE_SOURCE_DIR) + "/charts/redrive/rules";
  const auto all = services();
  const std::string config_path = folder_ + "/prometheus.yml";
  WriteFile(config_path,
            "global:\n  scrape_interval: 2s\n  evaluation_interval: 2s\n"
            "rule_files: ['" +
                rules +
                "/*.yaml']\n"
                "scrape_configs:\n"
                "  - job_name: redrive-worker\n"
                "    static_configs: [{targets: " +
                Targets(all, false) +
                "}]\n"
                "  - job_name: redrive-controller\n"
                "    static_configs: [{targets: " +
                Targets(all, true) + "}]\n");
  prometheus_port_ = FreeLoopbackPort();
  const std::string log = folder_ + "/logs/prometheus.log";
  prometheus_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{
          bin, "--config.file=" + config_path,
          "--storage.tsdb.path=" + folder_ + "/prometheus-data",
          "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port_)},
      ProcessOptions{.env = {}, .stdout_path = log, .stderr_path = log, .own_process_group = true});
  if (!WaitUntil([&] {
        return !prometheus_->Running() || HttpGet(prometheus_port_, "/-/ready").status == 200;
      }) ||
      !prometheus_->Running()) {
    prometheus_note_ = "Prometheus did not start; see " + log;
    prometheus_.reset();
    prometheus_port_ = 0;
  }
}

std::string LocalSystem::GatewayUrl() const {
  return "http://127.0.0.1:" + std::to_string(gateway_port_);
}

std::string LocalSystem::PrometheusUrl() const {
  return prometheus_ ? "http://127.0.0.1:" + std::to_string(prometheus_port_) : "";
}

std::vector<Service*> LocalSystem::services() {
  std::vector<Service*> all;
  for (auto* group : {&payment_workers_, &webhook_workers_, &controllers_}) {
    for (auto& service : *group) all.push_back(service.get());
  }
  return all;
}

std::vector<std::string> LocalSystem::LogPaths() const {
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(folder_ + "/logs")) {
    paths.push_back(entry.path().string());
  }
  return paths;
}

void LocalSystem::SetGatewayFaults(const nlohmann::json& faults) const {
  const auto reply = HttpRequest("POST", gateway_port_, "/v1/admin/faults", faults.dump(),
                                 {{"Content-Type", "application/json"}});
  if (reply.status != 200) throw std::runtime_error("gateway faults: " + reply.body + reply.error);
}

nlohmann::json LocalSystem::LedgerOrders() const {
  const auto reply = HttpGet(gateway_port_, "/v1/ledger");
  if (reply.status != 200) throw std::runtime_error("gateway ledger: " + reply.error);
  return nlohmann::json::parse(reply.body).at("orders");
}

std::vector<std::string> LocalSystem::FiringAlerts() const {
  std::vector<std::string> firing;
  if (!prometheus_) return firing;
  const auto reply = HttpGet(prometheus_port_, "/api/v1/alerts");
  if (reply.status != 200) return firing;
  // Named: a range-for over a member of a temporary would read it after it is destroyed.
  const nlohmann::json body = nlohmann::json::parse(reply.body);
  for (const auto& alert : body.at("data").at("alerts")) {
    if (alert.value("state", "") == "firing") {
      firing.push_back(alert.at("labels").value("alertname", "?"));
    }
  }
  return firing;
}

std::string LocalSystem::Redrivectl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {BinaryPath("redrivectl"), "--config", config_path_};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv).output;
}

void LocalSystem::Stop() {
  for (Service* service : services()) {
    if (service->Running()) ::kill(service->pid(), SIGTERM);
  }
  for (Service* service : services()) service->Stop(kDrainGrace);
  for (auto* process : {prometheus_.get(), gateway_.get()}) {
    if (process == nullptr || !process->Running()) continue;
    process->Signal(SIGTERM);
    if (!process->Wait(std::chrono::seconds(5))) process->Signal(SIGKILL);
    process->Wait(std::chrono::seconds(5));
  }
  if (cluster_) cluster_->Stop();
  cluster_.reset();
}

}  // namespace redrive::testing
