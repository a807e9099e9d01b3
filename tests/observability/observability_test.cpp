// The Grafana dashboards and the Prometheus alert rules against the real thing: PostgreSQL,
// gateway-sim, a payment and a webhook worker, a leading and a standby controller, and a real
// Prometheus that scrapes their admin ports and evaluates charts/redrive/rules. Orders are
// placed with failures injected (a poison event, a failing subscriber, a gateway that fails
// before and after charging) so retries, dead letters, re-drives and NEEDS_REVIEW exist.
// Then every metric a panel or an alert names must be in Prometheus, every panel query must
// return data, every rule must evaluate cleanly, and two alerts must go pending on real
// labels (the leader-only join and the worker job selector).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/http_client.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redrive_processes.hpp"
#include "tests/support/webhook_receiver.hpp"

namespace {

using namespace redrive::testing;
using namespace std::chrono_literals;
using nlohmann::json;

// Configured by CMake (REDRIVE_PROMETHEUS_BIN); the environment variable of the same name wins.
#ifndef REDRIVE_PROMETHEUS_BIN_DEFAULT
#define REDRIVE_PROMETHEUS_BIN_DEFAULT "/var/cache/redrive-tools/prometheus/usr/bin"
#endif
constexpr const char* kDefaultPrometheusBin = REDRIVE_PROMETHEUS_BIN_DEFAULT;
// Scrape job names. RedriveWorkerDown selects workers by job=~".*redrive.*worker.*" (see the
// header of the rule file); the test proves that these names match it.
constexpr const char* kControllerJob = "redrive-controller";
constexpr const char* kPaymentJob = "redrive-worker-payment";
constexpr const char* kWebhookJob = "redrive-worker-webhook";

std::string SourcePath(const std::string& relative) {
  return std::string(REDRIVE_SOURCE_DIR) + "/" + relative;
}

const std::vector<std::string>& DashboardPaths() {
  static const std::vector<std::string> paths = {
      SourcePath("charts/redrive/dashboards/redrive-overview.json"),
      SourcePath("charts/redrive/dashboards/redrive-workers.json")};
  return paths;
}

std::string RulesPath() {
  return SourcePath("charts/redrive/rules/redrive-alerts.yaml");
}

json ReadJsonFile(const std::string& path) {
  const std::string text = ReadFile(path);
  if (text.empty()) throw std::runtime_error("missing or empty: " + path);
  return json::parse(text);
}

std::string UrlEncode(const std::string& text) {
  std::ostringstream out;
  out << std::hex << std::uppercase << std::setfill('0');
  for (const unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out << static_cast<char>(c);
    } else {
      out << '%' << std::setw(2) << static_cast<int>(c);
    }
  }
  return out.str();
}

void ReplaceAll(std::string& text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// The metric names a PromQL expression reads: identifiers outside strings, label matchers,
// ranges and grouping lists that are neither functions, aggregations nor keywords.
std::set<std::string> MetricNames(const std::string& expr) {
  std::string text;
  int braces = 0;
  int brackets = 0;
  char quote = 0;
  for (std::size_t i = 0; i < expr.size(); ++i) {
    const char c = expr[i];
    if (quote != 0) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '"' || c == '\'' || c == '`') {
      quote = c;
    } else if (c == '{') {
      ++braces;
    } else if (c == '}') {
      --braces;
    } else if (c == '[') {
      ++brackets;
    } else if (c == ']') {
      --brackets;
    } else if (braces == 0 && brackets == 0) {
      text += c;
      continue;
    }
    text += ' ';
  }
  static const std::regex grouping(
      R"(\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\))");
  text = std::regex_replace(text, grouping, " ");
  static const std::regex identifier(R"(([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?)");
  static const std::set<std::string> keywords = {
      "and",      "or",         "unless",      "bool", "offset", "by",  "without", "on",
      "ignoring", "group_left", "group_right", "inf",  "nan",    "Inf", "NaN"};
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), identifier);
       it != std::sregex_iterator(); ++it) {
    const auto& match = *it;
    if (match[2].matched) continue;  // a function or an aggregation
    const auto start = static_cast<std::size_t>(match.position(1));
    if (start > 0 && (std::isdigit(static_cast<unsigned char>(text[start - 1])) != 0 ||
                      text[start - 1] == '.')) {
      continue;  // the unit of a duration or the exponent of a number
    }
    if (keywords.count(match[1].str()) == 0) names.insert(match[1].str());
  }
  return names;
}

struct PanelQuery {
  std::string where;  // "<dashboard> / <panel title>"
  std::string expr;   // as written in the dashboard
};

void CollectPanelQueries(const json& panels, const std::string& dashboard,
                         std::vector<PanelQuery>& queries) {
  for (const auto& panel : panels) {
    if (panel.contains("panels")) CollectPanelQueries(panel.at("panels"), dashboard, queries);
    if (!panel.contains("targets")) continue;
    for (const auto& target : panel.at("targets")) {
      if (!target.contains("expr")) continue;
      queries.push_back(
          {dashboard + " / " + panel.value("title", "?"), target.at("expr").get<std::string>()});
    }
  }
}

std::vector<PanelQuery> AllPanelQueries() {
  std::vector<PanelQuery> queries;
  for (const auto& path : DashboardPaths()) {
    const json dashboard = ReadJsonFile(path);
    CollectPanelQueries(dashboard.at("panels"), dashboard.value("title", path), queries);
  }
  return queries;
}

// Metric names read by the templating variables (label_values(metric{...}, label)).
std::set<std::string> VariableMetricNames() {
  std::set<std::string> names;
  static const std::regex label_values(R"(label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*[{,])");
  for (const auto& path : DashboardPaths()) {
    // Named: a range-for over a member of a temporary would read it after it is destroyed.
    const auto dashboard = ReadJsonFile(path);
    for (const auto& variable : dashboard.at("templating").at("list")) {
      const std::string definition = variable.value("definition", "");
      std::smatch match;
      if (std::regex_search(definition, match, label_values)) names.insert(match[1].str());
    }
  }
  return names;
}

// What Grafana would send with every variable at "All": $__rate_interval and friends become
// a window covering the whole test, $consumer / ${instance} / [[x]] become ".*".
std::string SubstituteVariables(std::string expr) {
  for (const char* name : {"__rate_interval", "__range", "__interval"}) {
    const std::string window = std::string(name) == "__interval" ? "15s" : "1m";
    ReplaceAll(expr, "${" + std::string(name) + "}", window);
    ReplaceAll(expr, "$" + std::string(name), window);
  }
  static const std::regex braced(R"(\$\{[A-Za-z_][A-Za-z0-9_]*(:[a-z]+)?\})");
  static const std::regex bracketed(R"(\[\[[A-Za-z_][A-Za-z0-9_]*\]\])");
  static const std::regex plain(R"(\$[A-Za-z_][A-Za-z0-9_]*)");
  expr = std::regex_replace(expr, braced, ".*");
  expr = std::regex_replace(expr, bracketed, ".*");
  return std::regex_replace(expr, plain, ".*");
}

std::vector<std::string> AlertNamesInRuleFile() {
  std::vector<std::string> names;
  std::istringstream lines(ReadFile(RulesPath()));
  static const std::regex alert(R"(^\s*-\s*alert:\s*(\S+)\s*$)");
  std::string line;
  while (std::getline(lines, line)) {
    std::smatch match;
    if (std::regex_match(line, match, alert)) names.push_back(match[1].str());
  }
  return names;
}

// A real Prometheus on 127.0.0.1, with its configuration and storage in a temp folder, stopped
// by its pid. Its scrape and evaluation intervals are 1 s.
class Prometheus {
 public:
  Prometheus(const std::string& bin_dir,
             const std::vector<std::pair<std::string, std::vector<int>>>& jobs)
      : dir_(MakeTempDir("redrive-prometheus")), port_(FreeLoopbackPort()) {
    std::ofstream config(dir_ + "/prometheus.yml");
    config << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
           << "rule_files:\n  - " << RulesPath() << "\nscrape_configs:\n";
    for (const auto& [job, ports] : jobs) {
      config << "  - job_name: " << job << "\n    static_configs:\n      - targets:\n";
      for (const int port : ports) config << "          - 127.0.0.1:" << port << "\n";
    }
    config.close();
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{
            bin_dir + "/prometheus", "--config.file=" + dir_ + "/prometheus.yml",
            "--storage.tsdb.path=" + dir_ + "/data",
            "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"},
        ProcessOptions{.env = {},
                       .stdout_path = dir_ + "/prometheus.log",
                       .stderr_path = dir_ + "/prometheus.log"});
    if (!WaitUntil([&] { return !process_->Running() || HttpGet(port_, "/-/ready").status == 200; },
                   20s) ||
        !process_->Running()) {
      throw std::runtime_error("prometheus did not become ready: " + Log());
    }
  }
  ~Prometheus() {
    process_.reset();  // SIGKILL and reap, unless Stop() ended it already
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  Prometheus(const Prometheus&) = delete;
  Prometheus& operator=(const Prometheus&) = delete;

  std::string Log() const { return ReadFile(dir_ + "/prometheus.log"); }

  // SIGTERM to its pid; its exit status, or nullopt when it did not exit in time.
  std::optional<int> Stop() {
    process_->Signal(SIGTERM);
    return process_->Wait(15s);
  }

  // GET an API path; the parsed body when Prometheus answered with status "success".
  std::optional<json> Api(const std::string& target) const {
    const HttpReply reply = HttpGet(port_, target);
    if (reply.status != 200) return std::nullopt;
    json body = json::parse(reply.body, nullptr, false);
    if (body.is_discarded() || body.value("status", "") != "success") return std::nullopt;
    return body;
  }

  std::optional<json> Query(const std::string& expr) const {
    return Api("/api/v1/query?query=" + UrlEncode(expr));
  }

 private:
  std::string dir_;
  int port_;
  std::unique_ptr<ChildProcess> process_;
};

// True when the instant query returned at least one sample with a finite value.
bool HasFiniteSample(const json& response) {
  const json& data = response.at("data");
  auto finite = [](const json& value_pair) {
    const std::string text = value_pair.at(1).get<std::string>();
    return std::isfinite(std::strtod(text.c_str(), nullptr));
  };
  if (data.at("resultType") == "scalar") return finite(data.at("result"));
  if (data.at("resultType") != "vector") return false;
  for (const auto& series : data.at("result")) {
    if (finite(series.at("value"))) return true;
  }
  return false;
}

// The state ("pending" or "firing") of alert `name` with the given labels, or "" when absent.
std::string AlertState(const Prometheus& prometheus, const std::string& name,
                       const std::map<std::string, std::string>& labels) {
  const auto alerts = prometheus.Api("/api/v1/alerts");
  if (!alerts) return "";
  for (const auto& alert : alerts->at("data").at("alerts")) {
    const json& alert_labels = alert.at("labels");
    if (alert_labels.value("alertname", "") != name) continue;
    bool matches = true;
    for (const auto& [key, value] : labels)
      matches = matches && alert_labels.value(key, "") == value;
    if (matches) return alert.at("state").get<std::string>();
  }
  return "";
}

}  // namespace

TEST_CASE("observability: the metric-name extractor sees only the metrics a PromQL query reads") {
  CHECK(MetricNames(R"(max by (consumer) (redrive_outbox_oldest_pending_age_seconds{a="b"} )"
                    R"(and on (job, instance) (redrive_leader == 1)) > 600)") ==
        std::set<std::string>{"redrive_outbox_oldest_pending_age_seconds", "redrive_leader"});
  CHECK(MetricNames("histogram_quantile(0.99, sum by (le) (rate(x_bucket{job=~\"w.*\"}[5m])))") ==
        std::set<std::string>{"x_bucket"});
  CHECK(MetricNames("sum(up) == 0 or absent(up)") == std::set<std::string>{"up"});
  CHECK(MetricNames("time() - max(stamp_seconds offset 15m) > 1e3") ==
        std::set<std::string>{"stamp_seconds"});
  CHECK(SubstituteVariables("rate(m{c=~\"$consumer\", i=~\"${instance}\"}[$__rate_interval])") ==
        "rate(m{c=~\".*\", i=~\".*\"}[1m])");
}

TEST_CASE(
    "observability: the Grafana dashboards have a uid, the redrive tag and a datasource "
    "variable every query uses") {
  std::set<std::string> uids;
  for (const auto& path : DashboardPaths()) {
    INFO(path);
    const json dashboard = ReadJsonFile(path);
    const std::string uid = dashboard.value("uid", "");
    CHECK(!uid.empty());
    CHECK(uids.insert(uid).second);
    CHECK(dashboard.value("schemaVersion", 0) >= 36);
    CHECK(dashboard.at("tags") == json::array({"redrive"}));
    bool datasource_variable = false;
    for (const auto& variable : dashboard.at("templating").at("list")) {
      if (variable.value("name", "") == "datasource") {
        datasource_variable = variable.value("type", "") == "datasource" &&
                              variable.value("query", "") == "prometheus";
      }
    }
    CHECK(datasource_variable);
    std::vector<PanelQuery> queries;
    CollectPanelQueries(dashboard.at("panels"), uid, queries);
    CHECK(queries.size() >= 10);
    std::function<void(const json&)> check_panels = [&](const json& panels) {
      for (const auto& panel : panels) {
        INFO(panel.value("title", "?"));
        if (panel.value("type", "") == "row") {
          if (panel.contains("panels")) check_panels(panel.at("panels"));
          continue;
        }
        CHECK(panel.at("datasource").at("uid") == "${datasource}");
        CHECK(!panel.value("description", "").empty());
        REQUIRE(panel.contains("targets"));
        for (const auto& target : panel.at("targets")) {
          CHECK(target.at("datasource").at("uid") == "${datasource}");
          CHECK(!target.value("expr", "").empty());
        }
      }
    };
    check_panels(dashboard.at("panels"));
  }
}

TEST_CASE(
    "observability: every dashboard panel and alert rule works on what the real redrive "
    "processes export to a real Prometheus") {
  const char* env_bin = std::getenv("REDRIVE_PROMETHEUS_BIN");
  const std::string bin_dir =
      env_bin != nullptr && *env_bin != '\0' ? env_bin : kDefaultPrometheusBin;
  if (::access((bin_dir + "/prometheus").c_str(), X_OK) != 0) {
    FAIL("no executable prometheus in "
         << bin_dir
         << ": run scripts/fetch-prometheus (it prints the folder) "
            "or set REDRIVE_PROMETHEUS_BIN to the folder holding it");
  }

  MigratedDatabase database;
  const std::string url = database.Url();
  GatewaySim gateway;
  WebhookReceiver subscriber;
  WorkerProcess payment(url, "payment",
                        {{"REDRIVE_GATEWAY_URL", gateway.Url()},
                         {"REDRIVE_WORKER_MAX_ATTEMPTS", "2"},
                         {"REDRIVE_GATEWAY_BREAKER_FAILURE_THRESHOLD", "100"}});
  WorkerProcess webhook(url, "webhook",
                        {{"REDRIVE_WEBHOOK_URL", subscriber.Url()},
                         {"REDRIVE_WEBHOOK_SECRET", "observability-test-secret"}});
  const std::map<std::string, std::string> controller_env = {
      {"REDRIVE_GATEWAY_URL", gateway.Url()},
      {"REDRIVE_CONTROLLER_MAX_REDRIVES", "1"},
      {"REDRIVE_CONTROLLER_STUCK_AFTER_SECONDS", "1"}};
  ControllerProcess leader(url, controller_env);
  REQUIRE(leader.WaitReady());
  // Started once the first one leads, so it stays a standby: it exports 0 for the leader-only
  // gauges, which the panels and alerts must ignore.
  REQUIRE(WaitUntil([&] { return leader.Metric("redrive_leader") == 1; }, 15s));
  ControllerProcess standby(url, controller_env);
  REQUIRE(payment.WaitReady());
  REQUIRE(webhook.WaitReady());
  REQUIRE(standby.WaitReady());

  Prometheus prometheus(bin_dir, {{kControllerJob, {leader.admin_port(), standby.admin_port()}},
                                  {kPaymentJob, {payment.admin_port()}},
                                  {kWebhookJob, {webhook.admin_port()}}});
  INFO("prometheus log:\n", prometheus.Log());
  REQUIRE(WaitUntil(
      [&] {
        const auto up = prometheus.Query("count(up == 1)");
        return up && HasFiniteSample(*up) &&
               up->at("data").at("result").at(0).at("value").at(1) == "4";
      },
      15s));

  // A poison payment event (no order id): dead-lettered as malformed_payload at once.
  Execute(url,
          "INSERT INTO outbox (event_id, consumer, event_type, payload) VALUES "
          "(gen_random_uuid(), 'payment', 'OrderCreated', '{\"note\": \"no order id\"}')");
  // Orders that are paid; their first webhook deliveries fail, so they are retried.
  subscriber.SetStatus(503);
  Execute(url, "SELECT place_order('observability', 1000 + g, 'USD') FROM generate_series(1, 8) g");
  REQUIRE(subscriber.WaitForRequests(3));
  subscriber.SetStatus(200);
  REQUIRE(WaitForValue(url, "SELECT count(*) FROM orders WHERE state = 'PAID'", "8"));

  // The gateway fails before charging: two attempts, a dead letter, a re-emit by the
  // controller (the gateway never saw the key), the same again, then NEEDS_REVIEW.
  gateway.SetFaults({{"error_rate", 1.0}});
  const std::string refused = PlaceOrder(url, 2100);
  REQUIRE(WaitForValue(url, "SELECT state FROM orders WHERE id = '" + refused + "'", "NEEDS_REVIEW",
                       25s));
  // The gateway charges, then answers 500: outcome unknown until the controller asks it.
  gateway.SetFaults({{"error_rate", 0.0}, {"error_after_charge_rate", 1.0}});
  const std::string unknown = PlaceOrder(url, 2200);
  REQUIRE(WaitForValue(url, "SELECT state FROM orders WHERE id = '" + unknown + "'", "PAID", 20s));
  gateway.SetFaults({{"error_after_charge_rate", 0.0}});
  CHECK(QueryValue(url, "SELECT count(*) FROM dead_letter_events") == "4");
  CHECK(std::stoi(QueryValue(url,
                             "SELECT count(*) FROM redrive_log WHERE rule = 'stuck_order' AND "
                             "outcome = 'applied'")) >= 3);

  // (a) Every metric a panel, a variable or an alert reads is in Prometheus.
  const std::vector<PanelQuery> panel_queries = AllPanelQueries();
  REQUIRE(panel_queries.size() >= 20);
  std::map<std::string, std::string> needed;  // metric -> where it is used
  for (const auto& query : panel_queries) {
    for (const auto& name : MetricNames(SubstituteVariables(query.expr)))
      needed.emplace(name, query.where);
  }
  for (const auto& name : VariableMetricNames()) needed.emplace(name, "a dashboard variable");

  const std::vector<std::string> alert_names = AlertNamesInRuleFile();
  REQUIRE(alert_names.size() == 9);
  std::optional<json> rules;
  REQUIRE(WaitUntil(
      [&] {
        rules = prometheus.Api("/api/v1/rules?type=alert");
        if (!rules) return false;
        std::size_t evaluated = 0;
        for (const auto& group : rules->at("data").at("groups")) {
          for (const auto& rule : group.at("rules")) {
            if (rule.value("lastEvaluation", "").rfind("0001-", 0) != 0) ++evaluated;
          }
        }
        return evaluated == alert_names.size();
      },
      15s));
  std::set<std::string> loaded;
  for (const auto& group : rules->at("data").at("groups")) {
    for (const auto& rule : group.at("rules")) {
      const std::string name = rule.at("name").get<std::string>();
      INFO("alert ", name, ": ", rule.at("query").get<std::string>());
      loaded.insert(name);
      CHECK(rule.at("health") == "ok");
      CHECK((!rule.contains("lastError") || rule.at("lastError").is_null() ||
             rule.at("lastError") == ""));
      for (const auto& metric : MetricNames(rule.at("query").get<std::string>())) {
        needed.emplace(metric, "alert " + name);
      }
    }
  }
  CHECK(loaded == std::set<std::string>(alert_names.begin(), alert_names.end()));

  std::set<std::string> missing;
  WaitUntil(
      [&] {
        const auto names = prometheus.Api("/api/v1/label/__name__/values");
        if (!names) return false;
        std::set<std::string> exported;
        for (const auto& value : names->at("data")) exported.insert(value.get<std::string>());
        missing.clear();
        for (const auto& [name, where] : needed) {
          if (exported.count(name) == 0) missing.insert(name);
        }
        return missing.empty();
      },
      15s);
  for (const auto& [name, where] : needed) {
    INFO("metric ", name, " (used by ", where, ")");
    CHECK_MESSAGE(missing.count(name) == 0, "no such metric in what the processes export");
  }

  // (b) Every panel query returns data: at least one series with a finite value.
  std::vector<std::optional<json>> answers(panel_queries.size());
  std::vector<bool> answered(panel_queries.size(), false);
  WaitUntil(
      [&] {
        bool all = true;
        for (std::size_t i = 0; i < panel_queries.size(); ++i) {
          if (answered[i]) continue;
          answers[i] = prometheus.Query(SubstituteVariables(panel_queries[i].expr));
          answered[i] = answers[i] && HasFiniteSample(*answers[i]);
          all = all && answered[i];
        }
        if (!all) SleepFor(500ms);
        return all;
      },
      20s);
  for (std::size_t i = 0; i < panel_queries.size(); ++i) {
    INFO("panel ", panel_queries[i].where, "\nquery ", SubstituteVariables(panel_queries[i].expr),
         "\nanswer ", answers[i] ? answers[i]->dump() : std::string("(request failed)"));
    CHECK_MESSAGE(answered[i], "the panel query returned no data");
  }

  // The leader-only join works on real scrape labels: the leader counts one order in
  // NEEDS_REVIEW and its alert goes pending (for: 1m), once, although a standby exports 0.
  CHECK(WaitUntil(
      [&] { return AlertState(prometheus, "RedriveOrdersNeedReview", {}) == "pending"; }, 15s));
  CHECK(AlertState(prometheus, "RedriveNoLeader", {}).empty());
  // The worker job selector matches the job names: a stopped worker makes RedriveWorkerDown
  // pending for its job.
  CHECK(AlertState(prometheus, "RedriveWorkerDown", {}).empty());
  webhook.process().Signal(SIGTERM);
  CHECK(webhook.process().Wait(15s) == 0);
  CHECK(WaitUntil(
      [&] {
        return AlertState(prometheus, "RedriveWorkerDown",
                          {{"job", kWebhookJob},
                           {"instance", "127.0.0.1:" + std::to_string(webhook.admin_port())},
                           {"severity", "warning"}}) == "pending";
      },
      15s));

  CHECK(prometheus.Stop() == 0);
}
