#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Configuration: one optional YAML file, every key overridable by REDRIVE_<SECTION>_<KEY>.
// The defaults below are the documented defaults (docs/configuration.md); the ranges,
// descriptions and environment names of every key live in one table, core/config/keys.cpp.
namespace redrive::config {

struct Database {
  std::string url = "postgresql://redrive@127.0.0.1:5432/redrive";
  int pool_size = 8;
  int connect_timeout_seconds = 5;
  int statement_timeout_ms = 10000;  // 0 disables the timeout
  // libpq sslmode and sslrootcert. Empty: not set, so sslmode=/sslrootcert= in url (else
  // PGSSLMODE / PGSSLROOTCERT, else libpq's defaults) apply; set, they win over the url.
  std::string sslmode = "";
  std::string sslrootcert = "";
};

struct Admin {
  std::string listen = "0.0.0.0:9464";
  int request_timeout_ms = 5000;
  int liveness_timeout_seconds = 30;
};

struct Log {
  std::string level = "info";  // debug|info|warn|error
};

struct Gateway {
  std::string url = "http://127.0.0.1:8080";
  int timeout_ms = 2000;
  int breaker_failure_threshold = 5;
  int breaker_open_seconds = 10;
};

struct Worker {
  std::string instance_id = "";
  int concurrency = 16;
  int batch_size = 16;
  int lease_seconds = 30;
  int poll_interval_ms = 1000;
  int backoff_base_ms = 500;
  int backoff_max_ms = 300000;
  int max_attempts = 10;
  int shutdown_grace_seconds = 20;
  int max_payload_bytes = 65536;
};

struct Webhook {
  std::string url = "";  // empty: webhook delivery disabled
  std::string secret = "";
  int timeout_ms = 5000;
};

struct Controller {
  std::string instance_id = "";
  int interval_seconds = 10;
  int lease_seconds = 15;
  int lease_renew_deadline_seconds = 10;
  int lease_retry_seconds = 2;
  int stuck_after_seconds = 120;
  int max_redrives = 5;
  int key_retention_seconds = 72000;
  int backlog_alert_seconds = 300;
  int retention_hours = 168;
  int redrive_budget = 100;
  bool dry_run = false;
};

struct Config {
  Database database;
  Admin admin;
  Log log;
  Gateway gateway;
  Worker worker;
  Webhook webhook;
  Controller controller;
};

// `key` is "section.key" when the problem belongs to one key; then `problem` starts with
// the environment variable's name when that is where the bad value came from
// ("REDRIVE_WORKER_LEASE_SECONDS: expected an integer, got \"abc\""). For problems that
// belong to no key, `key` names where they are: an unknown environment variable's name, a
// YAML section, or the configuration file.
struct ConfigError {
  std::string key;
  std::string problem;
};

using Environment = std::map<std::string, std::string>;

struct LoadResult {
  Config config;
  std::vector<ConfigError> errors;
  bool ok() const { return errors.empty(); }
};

// Pure: YAML text (may be empty) + environment -> config or every error. No I/O, never
// throws on bad input. Environment values beat YAML values; entries whose names do not
// start with REDRIVE_<SECTION>_ for a known section are ignored.
LoadResult Load(std::string_view yaml_text, const Environment& env);

// The checks on values (ranges, formats, rules between keys) for a config built in code.
// Load runs the same checks.
std::vector<ConfigError> Validate(const Config& config);

// Only the REDRIVE_* entries of the process environment.
Environment ProcessEnvironment();

// postgresql://user:secret@host/db -> postgresql://user:***@host/db; also key=value DSNs
// (password=... and sslpassword=..., quoted or not) and ?password= in URIs. Safe on any
// text, e.g. a libpq error message.
std::string RedactSecrets(std::string_view url);

// The secret values `config` holds, as they may show up in text: the password and
// sslpassword in database.url (as written and percent-decoded) and webhook.secret. For
// log::SetSecrets, which masks them in every log line; never print this.
std::vector<std::string> SecretValues(const Config& config);

// For main(): reads the file when a path is given (unreadable file -> error naming the
// path), merges the process environment, validates; on any error prints one line per
// error to stderr as "redrive: invalid configuration: <key>: <problem>" and exits with
// status 2. On success, hands SecretValues (and PGPASSWORD) to log::SetSecrets.
Config LoadOrExit(const std::optional<std::string>& path);

}  // namespace redrive::config
