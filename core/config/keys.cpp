#include "core/config/keys.hpp"

#include <array>
#include <type_traits>
#include <utility>

#include "core/config/checks.hpp"

namespace redrive::config {
namespace {

template <auto kSection, auto kMember>
constexpr Field At() {
  using T = std::remove_cvref_t<decltype(std::declval<Config&>().*kSection.*kMember)>;
  return Accessor<T>{[](Config& config) -> T& { return config.*kSection.*kMember; },
                     [](const Config& config) -> const T& { return config.*kSection.*kMember; }};
}

constexpr int kMinute = 60;
constexpr int kHour = 60 * kMinute;
constexpr int kDay = 24 * kHour;

// Upper bounds are there to catch unit mistakes (milliseconds written as seconds, an
// extra zero), not to forbid unusual but sane deployments.
constexpr auto kKeys = std::to_array<Key>({
    // database
    {.section = "database",
     .name = "url",
     .field = At<&Config::database, &Database::url>(),
     .check = CheckDatabaseUrl,
     // Not even redacted: a malformed value may hide its password where RedactSecrets
     // cannot find it.
     .secret = true,
     .example = "host=db.internal port=5432 dbname=orders user=app",
     .description = "PostgreSQL connection: a postgresql:// URI or a libpq key=value string"},
    {.section = "database",
     .name = "pool_size",
     .field = At<&Config::database, &Database::pool_size>(),
     .min = 1,
     .max = 256,
     .example = "16",
     .description = "Connections each process keeps open"},
    {.section = "database",
     .name = "connect_timeout_seconds",
     .field = At<&Config::database, &Database::connect_timeout_seconds>(),
     .min = 1,
     .max = 5 * kMinute,
     .example = "10",
     .description = "Give up opening a connection after this long"},
    {.section = "database",
     .name = "statement_timeout_ms",
     .field = At<&Config::database, &Database::statement_timeout_ms>(),
     .min = 0,
     .max = kHour * 1000,
     .example = "0",
     .description = "PostgreSQL statement_timeout for every session; 0 disables it"},
    {.section = "database",
     .name = "sslmode",
     .field = At<&Config::database, &Database::sslmode>(),
     .check = CheckSslMode,
     .example = "verify-full",
     .description = "TLS to PostgreSQL: disable, allow, prefer, require, verify-ca or "
                    "verify-full; wins over sslmode in database.url; empty: the url's sslmode, "
                    "else PGSSLMODE, else libpq's default (prefer)"},
    {.section = "database",
     .name = "sslrootcert",
     .field = At<&Config::database, &Database::sslrootcert>(),
     .check = CheckSslRootCert,
     .example = "/etc/redrive/tls/ca.crt",
     .description = "CA certificate file that verify-ca and verify-full check the server "
                    "against; wins over sslrootcert in database.url; empty: the url's, else "
                    "PGSSLROOTCERT, else ~/.postgresql/root.crt"},
    // admin
    {.section = "admin",
     .name = "listen",
     .field = At<&Config::admin, &Admin::listen>(),
     .check = CheckListenAddress,
     .example = "127.0.0.1:0",
     .description = "HOST:PORT of the admin server (/healthz, /readyz, /metrics); port 0 picks "
                    "a free port"},
    {.section = "admin",
     .name = "request_timeout_ms",
     .field = At<&Config::admin, &Admin::request_timeout_ms>(),
     .min = 1,
     .max = 5 * kMinute * 1000,
     .example = "2000",
     .description = "Deadline for reading a request and writing its response"},
    {.section = "admin",
     .name = "liveness_timeout_seconds",
     .field = At<&Config::admin, &Admin::liveness_timeout_seconds>(),
     .min = 1,
     .max = kHour,
     .example = "60",
     .description = "/healthz fails when the main loop has not reported for this long"},
    // log
    {.section = "log",
     .name = "level",
     .field = At<&Config::log, &Log::level>(),
     .check = CheckLogLevel,
     .example = "debug",
     .description = "Lowest level written: debug, info, warn or error"},
    // gateway
    {.section = "gateway",
     .name = "url",
     .field = At<&Config::gateway, &Gateway::url>(),
     .check = CheckRequiredHttpUrl,
     .example = "http://gateway.payments.svc:8080/api",
     .description = "Base URL of the payment gateway (http:// only)"},
    {.section = "gateway",
     .name = "timeout_ms",
     .field = At<&Config::gateway, &Gateway::timeout_ms>(),
     .min = 1,
     .max = 5 * kMinute * 1000,
     .example = "3000",
     .description = "Deadline for one gateway request, connect to last byte"},
    {.section = "gateway",
     .name = "breaker_failure_threshold",
     .field = At<&Config::gateway, &Gateway::breaker_failure_threshold>(),
     .min = 1,
     .max = 1000,
     .example = "10",
     .description = "Consecutive failures that open the circuit breaker"},
    {.section = "gateway",
     .name = "breaker_open_seconds",
     .field = At<&Config::gateway, &Gateway::breaker_open_seconds>(),
     .min = 1,
     .max = kHour,
     .example = "30",
     .description = "How long the open breaker rejects calls before letting one probe through"},
    // worker
    {.section = "worker",
     .name = "instance_id",
     .field = At<&Config::worker, &Worker::instance_id>(),
     .check = CheckInstanceId,
     .example = "payment-7f9c4-x2k8q",
     .description = "Name written to outbox.claimed_by; empty: derived from the host name at "
                    "startup"},
    {.section = "worker",
     .name = "concurrency",
     .field = At<&Config::worker, &Worker::concurrency>(),
     .min = 1,
     .max = 1024,
     .example = "32",
     .description = "Events handled at the same time by one process"},
    {.section = "worker",
     .name = "batch_size",
     .field = At<&Config::worker, &Worker::batch_size>(),
     .min = 1,
     .max = 1000,
     .example = "50",
     .description = "Most outbox rows claimed by one query"},
    {.section = "worker",
     .name = "lease_seconds",
     .field = At<&Config::worker, &Worker::lease_seconds>(),
     .min = 1,
     .max = kHour,
     .example = "60",
     .description = "A claim expires (and the controller may re-drive it) after this long"},
    {.section = "worker",
     .name = "poll_interval_ms",
     .field = At<&Config::worker, &Worker::poll_interval_ms>(),
     .min = 1,
     .max = 10 * kMinute * 1000,
     .example = "250",
     .description = "Poll for work this often when no NOTIFY arrives"},
    {.section = "worker",
     .name = "backoff_base_ms",
     .field = At<&Config::worker, &Worker::backoff_base_ms>(),
     .min = 1,
     .max = kHour * 1000,
     .example = "1000",
     .description = "First retry delay after a transient failure; doubles per attempt, jittered"},
    {.section = "worker",
     .name = "backoff_max_ms",
     .field = At<&Config::worker, &Worker::backoff_max_ms>(),
     .min = 1,
     .max = kDay * 1000,
     .example = "600000",
     .description = "Cap on the retry delay; at least worker.backoff_base_ms"},
    {.section = "worker",
     .name = "max_attempts",
     .field = At<&Config::worker, &Worker::max_attempts>(),
     .min = 1,
     .max = 1000,
     .example = "20",
     .description = "Attempts before an event goes to the dead-letter table"},
    {.section = "worker",
     .name = "shutdown_grace_seconds",
     .field = At<&Config::worker, &Worker::shutdown_grace_seconds>(),
     .min = 1,
     .max = kHour,
     .example = "45",
     .description = "After SIGTERM, finish in-flight work for this long, then release it"},
    {.section = "worker",
     .name = "max_payload_bytes",
     .field = At<&Config::worker, &Worker::max_payload_bytes>(),
     .min = 1,
     .max = 16 * 1024 * 1024,
     .example = "131072",
     .description = "Larger event payloads are dead-lettered as poison, not processed"},
    // webhook
    {.section = "webhook",
     .name = "url",
     .field = At<&Config::webhook, &Webhook::url>(),
     .check = CheckOptionalHttpUrl,
     .example = "http://hooks.example.com/redrive",
     .description = "Subscriber that receives payment results (http:// only); empty disables "
                    "delivery"},
    {.section = "webhook",
     .name = "secret",
     .field = At<&Config::webhook, &Webhook::secret>(),
     .secret = true,
     .example = "whsec_example_only",
     .description = "HMAC-SHA256 key that signs every delivery; never logged"},
    {.section = "webhook",
     .name = "timeout_ms",
     .field = At<&Config::webhook, &Webhook::timeout_ms>(),
     .min = 1,
     .max = 5 * kMinute * 1000,
     .example = "10000",
     .description = "Deadline for one delivery"},
    // controller
    {.section = "controller",
     .name = "instance_id",
     .field = At<&Config::controller, &Controller::instance_id>(),
     .check = CheckInstanceId,
     .example = "controller-0",
     .description = "Name in the leader lease and redrive_log; empty: derived from the host "
                    "name at startup"},
    {.section = "controller",
     .name = "interval_seconds",
     .field = At<&Config::controller, &Controller::interval_seconds>(),
     .min = 1,
     .max = kHour,
     .example = "30",
     .description = "Time between reconcile cycles"},
    {.section = "controller",
     .name = "lease_seconds",
     .field = At<&Config::controller, &Controller::lease_seconds>(),
     .min = 1,
     .max = kHour,
     .example = "20",
     .description = "Leader lease duration; a standby takes over after it expires"},
    {.section = "controller",
     .name = "lease_renew_deadline_seconds",
     .field = At<&Config::controller, &Controller::lease_renew_deadline_seconds>(),
     .min = 1,
     .max = kHour,
     .example = "12",
     .description = "The leader steps down if it cannot renew within this long; less than "
                    "controller.lease_seconds"},
    {.section = "controller",
     .name = "lease_retry_seconds",
     .field = At<&Config::controller, &Controller::lease_retry_seconds>(),
     .min = 1,
     .max = kHour,
     .example = "3",
     .description = "Time between attempts to acquire or renew the lease; less than "
                    "controller.lease_renew_deadline_seconds"},
    {.section = "controller",
     .name = "stuck_after_seconds",
     .field = At<&Config::controller, &Controller::stuck_after_seconds>(),
     .min = 1,
     .max = 7 * kDay,
     .example = "300",
     .description = "An order in PAYMENT_PENDING this long is stuck; less than "
                    "controller.key_retention_seconds"},
    {.section = "controller",
     .name = "max_redrives",
     .field = At<&Config::controller, &Controller::max_redrives>(),
     .min = 1,
     .max = 100,
     .example = "3",
     .description = "Re-emits of one order's payment before it goes to NEEDS_REVIEW"},
    {.section = "controller",
     .name = "key_retention_seconds",
     .field = At<&Config::controller, &Controller::key_retention_seconds>(),
     .min = 1,
     .max = 30 * kDay,
     .example = "36000",
     .description = "How long the gateway is trusted to remember an idempotency key; set it "
                    "well inside the gateway's real retention. Older unsettled charges go to "
                    "NEEDS_REVIEW"},
    {.section = "controller",
     .name = "backlog_alert_seconds",
     .field = At<&Config::controller, &Controller::backlog_alert_seconds>(),
     .min = 1,
     .max = kDay,
     .example = "600",
     .description = "Unclaimed outbox rows older than this count as a backlog: re-notify, "
                    "report"},
    {.section = "controller",
     .name = "retention_hours",
     .field = At<&Config::controller, &Controller::retention_hours>(),
     .min = 1,
     .max = 10 * 365 * 24,
     .example = "720",
     .description = "How long the janitor keeps the processed_events records of consumed "
                    "events (completed outbox rows are deleted at once)"},
    {.section = "controller",
     .name = "redrive_budget",
     .field = At<&Config::controller, &Controller::redrive_budget>(),
     .min = 1,
     .max = 100000,
     .example = "50",
     .description = "Most re-drives per cycle; none while the gateway breaker is open"},
    {.section = "controller",
     .name = "dry_run",
     .field = At<&Config::controller, &Controller::dry_run>(),
     .example = "true",
     .description = "Plan and log every action, write nothing"},
});

}  // namespace

std::string Key::Path() const {
  std::string path(section);
  path += '.';
  path += name;
  return path;
}

std::string Key::EnvVar() const {
  std::string env = "REDRIVE_";
  env += section;
  env += '_';
  env += name;
  for (char& c : env) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return env;
}

std::span<const Key> Keys() {
  return kKeys;
}

const Key* FindKey(std::string_view path) {
  for (const Key& key : kKeys) {
    if (path.size() == key.section.size() + 1 + key.name.size() && path.starts_with(key.section) &&
        path[key.section.size()] == '.' && path.ends_with(key.name)) {
      return &key;
    }
  }
  return nullptr;
}

std::string FormatValue(const Key& key, const Config& config) {
  return std::visit(
      [&config](const auto& accessor) -> std::string {
        const auto& value = accessor.ref(config);
        using T = std::remove_cvref_t<decltype(value)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return value;
        } else if constexpr (std::is_same_v<T, bool>) {
          return value ? "true" : "false";
        } else {
          return std::to_string(value);
        }
      },
      key.field);
}

}  // namespace redrive::config
