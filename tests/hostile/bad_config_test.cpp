// Broken configuration, seen from outside, for every binary: exit status 2, one stderr
// line per problem that names the key (and the variable when it came from the
// environment), nothing on stdout, and never a secret. The matrix walks the key table
// (core/config/keys.cpp), so a key added there is covered here without touching this file.
// tests/unit/config_*_test.cpp cover Load() in-process message by message;
// tests/integration/config_exit_test.cpp has one smoke case per kind. This file is the
// exhaustive, out-of-process side.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "core/config/keys.hpp"
#include "tests/support/process.hpp"

namespace {

using namespace redrive::testing;
using namespace std::chrono_literals;
using redrive::config::Key;
using redrive::config::Keys;
using Env = std::map<std::string, std::string>;
using Strings = std::vector<std::string>;

constexpr const char* kPrefix = "redrive: invalid configuration: ";
constexpr const char* kPassword = "hunter2-Zq9x";
constexpr const char* kWebhookSecret = "whsec-T0pS3cret-value";

struct Binary {
  std::string name;
  Strings args;  // after the binary, before/around --config
};

// Every binary that reads the configuration, with the arguments that get it as far as
// loading it. The worker needs a consumer first, redrivectl a command.
const std::vector<Binary>& Binaries() {
  static const std::vector<Binary> binaries = {
      {"redrive-worker", {"--consumer", "payment"}},
      {"redrive-controller", {}},
      {"redrivectl", {"migrate"}},
  };
  return binaries;
}

struct Outcome {
  std::optional<int> exit_code;  // nullopt: still running after the deadline (then killed)
  std::string out;
  std::string err;

  Strings ErrLines() const {
    Strings lines;
    std::istringstream stream(err);
    for (std::string line; std::getline(stream, line);) lines.push_back(line);
    return lines;
  }
};

// A scratch folder for config files and captured output, removed at the end.
class Scratch {
 public:
  Scratch() : dir_(MakeTempDir("redrive-hostile-config")) {}
  ~Scratch() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  const std::string& dir() const { return dir_; }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  struct Invocation {
    Binary binary;
    std::optional<std::string> config;  // a path, or none
    Env env;                            // added to the test's environment
    Strings wrapper = {};               // e.g. runuser -u nobody --
  };

  // Starts every invocation at once and waits for all of them, `deadline` at most; one
  // still running then is killed (by its pid) and has no exit code. Polls every
  // millisecond: the matrix runs over a thousand short processes.
  std::vector<Outcome> RunAll(const std::vector<Invocation>& invocations,
                              std::chrono::milliseconds deadline = 10s) {
    struct Started {
      std::unique_ptr<ChildProcess> child;
      std::string out;
      std::string err;
    };
    std::vector<Started> started;
    for (const Invocation& call : invocations) {
      Strings argv = call.wrapper;
      argv.push_back(BinaryPath(call.binary.name));
      if (call.config) {
        argv.push_back("--config");
        argv.push_back(*call.config);
      }
      argv.insert(argv.end(), call.binary.args.begin(), call.binary.args.end());
      ++runs_;
      Started run{.child = nullptr,
                  .out = dir_ + "/out-" + std::to_string(runs_),
                  .err = dir_ + "/err-" + std::to_string(runs_)};
      run.child = std::make_unique<ChildProcess>(argv, ProcessOptions{.env = call.env,
                                                                      .stdout_path = run.out,
                                                                      .stderr_path = run.err,
                                                                      .own_process_group = false});
      started.push_back(std::move(run));
    }
    const auto until = RealNow() + deadline;
    const auto any_running = [&] {
      return std::any_of(started.begin(), started.end(),
                         [](Started& run) { return run.child->Running(); });
    };
    while (any_running() && RealNow() < until) SleepFor(1ms);
    std::vector<Outcome> outcomes;
    for (Started& run : started) {
      Outcome outcome;
      if (!run.child->Running()) outcome.exit_code = run.child->Wait(0ms);
      run.child.reset();  // kills it when still running
      outcome.out = ReadFile(run.out);
      outcome.err = ReadFile(run.err);
      std::remove(run.out.c_str());
      std::remove(run.err.c_str());
      outcomes.push_back(std::move(outcome));
    }
    return outcomes;
  }

  Outcome Run(const Binary& binary, const std::optional<std::string>& config, const Env& env,
              const Strings& wrapper = {}, std::chrono::milliseconds deadline = 10s) {
    return RunAll({{.binary = binary, .config = config, .env = env, .wrapper = wrapper}}, deadline)
        .front();
  }

 private:
  std::string dir_;
  int runs_ = 0;
};

std::string Describe(const Binary& binary, const Outcome& outcome) {
  return binary.name + " exit " +
         (outcome.exit_code ? std::to_string(*outcome.exit_code) : std::string("none")) +
         "\nstdout: " + outcome.out + "\nstderr: " + outcome.err;
}

// Exit 2, nothing on stdout, and every stderr line is one configuration error.
void CheckRejected(const Binary& binary, const Outcome& outcome) {
  INFO(Describe(binary, outcome));
  CHECK(outcome.exit_code == 2);
  CHECK(outcome.out.empty());
  const Strings lines = outcome.ErrLines();
  CHECK(!lines.empty());
  for (const std::string& line : lines) CHECK(line.rfind(kPrefix, 0) == 0);
}

// Exactly one problem, about `key` ("section.key", or a path or name for problems that
// belong to no key), and when it came from the environment the line names the variable.
void CheckOneError(const Binary& binary, const Outcome& outcome, const std::string& key,
                   const std::string& env_var = "") {
  CheckRejected(binary, outcome);
  INFO(Describe(binary, outcome));
  const Strings lines = outcome.ErrLines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind(kPrefix + key + ": ", 0) == 0);
  if (!env_var.empty()) CHECK(lines[0].find(env_var + ": ") != std::string::npos);
}

void CheckNoSecrets(const Binary& binary, const Outcome& outcome) {
  INFO(Describe(binary, outcome));
  for (const std::string& secret : {std::string(kPassword), std::string(kWebhookSecret)}) {
    CHECK(outcome.out.find(secret) == std::string::npos);
    CHECK(outcome.err.find(secret) == std::string::npos);
  }
}

std::string YamlFor(const Key& key, const std::string& value) {
  return std::string(key.section) + ":\n  " + std::string(key.name) + ": " + value + "\n";
}

// How a key's value can be wrong: the cases that must each give one error naming it.
struct BadValue {
  std::string what;
  std::optional<std::string> yaml;  // the value as written after "key: " in the file
  std::optional<std::string> env;   // the variable's value
};

// A string the key's own check refuses, found by asking the check: a new string key with
// a check is covered without a new line here. nullopt when the key accepts any string.
std::optional<std::string> RefusedString(const Key& key) {
  if (key.check == nullptr) return std::nullopt;
  for (const std::string& candidate :
       Strings{"", "has spaces in it", "a\tcontrol\x01character", "not a url or anything",
               "::::", std::string(300, 'x'), "https://example.com", "0.0.0.0:99999", "verbose"}) {
    if (key.check(candidate)) return candidate;
  }
  return std::nullopt;
}

std::vector<BadValue> BadValues(const Key& key) {
  std::vector<BadValue> bad;
  // Wrong shapes in YAML, whatever the type: a list where a value belongs, or nothing. (A
  // map takes the same path as a list; tests/unit/config_load_test.cpp has one.)
  bad.push_back({"a list", "[1, 2]", std::nullopt});
  bad.push_back({"no value", "", std::nullopt});
  if (std::holds_alternative<redrive::config::Accessor<int>>(key.field)) {
    bad.push_back({"not an integer", "12abc", "12abc"});
    bad.push_back({"a fraction", "1.5", "1.5"});
    bad.push_back(
        {"an integer beyond 64 bits", "99999999999999999999999", "99999999999999999999999"});
    if (key.min < key.max) {
      const std::string below = std::to_string(key.min - 1);
      const std::string above = std::to_string(key.max + 1);
      bad.push_back({"below the range", below, below});
      bad.push_back({"above the range", above, above});
    }
  } else if (std::holds_alternative<redrive::config::Accessor<bool>>(key.field)) {
    bad.push_back({"not a boolean", "maybe", "maybe"});
    bad.push_back({"yes is not a boolean here", "\"yes\"", "yes"});
  } else if (const auto refused = RefusedString(key)) {
    // Single-quoted YAML keeps every character as it is (quotes doubled).
    std::string quoted = "'";
    for (const char c : *refused) quoted += c == '\'' ? std::string("''") : std::string(1, c);
    bad.push_back({"a value its check refuses", quoted + "'", *refused});
  }
  return bad;
}

}  // namespace

TEST_CASE(
    "hostile: every config key with a wrong type or out of range makes every binary exit "
    "2 naming the key, from the file and from the environment") {
  Scratch scratch;
  int cases = 0;
  for (const Key& key : Keys()) {
    const std::string path = key.Path();
    const std::vector<BadValue> bad = BadValues(key);
    // Keys that accept any string have no wrong value in the environment; they must be
    // exactly the unchecked string keys (today webhook.secret).
    const bool any_env =
        std::any_of(bad.begin(), bad.end(), [](const BadValue& b) { return b.env.has_value(); });
    CHECK_MESSAGE(
        any_env == !(std::holds_alternative<redrive::config::Accessor<std::string>>(key.field) &&
                     key.check == nullptr),
        path);
    for (const BadValue& value : bad) {
      INFO(path, " ", value.what);
      // Every binary, from the file and from the environment, all at once.
      const std::string file = scratch.Write("bad-" + std::to_string(cases) + ".yaml",
                                             YamlFor(key, value.yaml.value_or("")));
      std::vector<Scratch::Invocation> calls;
      for (const Binary& binary : Binaries()) {
        if (value.yaml) calls.push_back({.binary = binary, .config = file, .env = {}});
        if (value.env) {
          calls.push_back(
              {.binary = binary, .config = std::nullopt, .env = {{key.EnvVar(), *value.env}}});
        }
      }
      const std::vector<Outcome> outcomes = scratch.RunAll(calls);
      for (std::size_t i = 0; i < calls.size(); ++i) {
        const bool from_env = !calls[i].config.has_value();
        CheckOneError(calls[i].binary, outcomes[i], path, from_env ? key.EnvVar() : "");
        ++cases;
      }
    }
  }
  MESSAGE(cases, " rejected runs over ", Keys().size(), " keys");

  // The same harness accepts what is valid: every key's example at once (through the
  // environment) gets past configuration, so exit 2 above meant the value, not the harness.
  Env examples;
  for (const Key& key : Keys()) examples[key.EnvVar()] = std::string(key.example);
  examples["REDRIVE_DATABASE_URL"] = "postgresql://redrive@127.0.0.1:1/redrive";
  examples["REDRIVE_DATABASE_CONNECT_TIMEOUT_SECONDS"] = "1";
  std::vector<Scratch::Invocation> calls;
  for (const Binary& binary : Binaries()) {
    calls.push_back({.binary = binary, .config = std::nullopt, .env = examples});
  }
  const std::vector<Outcome> valid = scratch.RunAll(calls, 1500ms);
  for (std::size_t i = 0; i < calls.size(); ++i) {
    INFO(Describe(calls[i].binary, valid[i]));
    CHECK(valid[i].err.find(kPrefix) == std::string::npos);
    if (calls[i].binary.name == "redrivectl") {
      CHECK(valid[i].exit_code == 1);  // the database is unreachable: a runtime failure
    } else {
      CHECK_FALSE(valid[i].exit_code.has_value());  // long-running: still up, waiting for it
    }
  }
}

TEST_CASE("hostile: every key wrong at once is reported key by key in one run") {
  Scratch scratch;
  std::string yaml;
  Env env;
  std::string section;
  for (const Key& key : Keys()) {
    if (key.section != section) {
      section = std::string(key.section);
      yaml += section + ":\n";
    }
    yaml += "  " + std::string(key.name) + ": [wrong]\n";
    for (const BadValue& value : BadValues(key)) {
      if (value.env) {
        env[key.EnvVar()] = *value.env;
        break;
      }
    }
  }
  const std::string file = scratch.Write("all-wrong.yaml", yaml);
  for (const Binary& binary : Binaries()) {
    const Outcome outcome = scratch.Run(binary, file, env);
    CheckRejected(binary, outcome);
    const Strings lines = outcome.ErrLines();
    for (const Key& key : Keys()) {
      INFO(binary.name, " ", key.Path());
      // One line from the file; a second from the environment when it has a bad value.
      const auto count = std::count_if(lines.begin(), lines.end(), [&](const std::string& l) {
        return l.rfind(kPrefix + key.Path() + ": ", 0) == 0;
      });
      CHECK(count == (env.count(key.EnvVar()) ? 2 : 1));
    }
    CHECK(lines.size() == Keys().size() + env.size());
  }
}

TEST_CASE("hostile: contradictory config keys exit 2 naming the key that was changed") {
  struct Contradiction {
    std::string key;    // the key set, and named in the error
    std::string value;  // valid on its own
    std::string other;  // the key it contradicts, named in the message
  };
  const std::vector<Contradiction> contradictions = {
      {"worker.backoff_max_ms", "100", "worker.backoff_base_ms"},
      {"worker.backoff_base_ms", "400000", "worker.backoff_max_ms"},
      {"controller.lease_renew_deadline_seconds", "15", "controller.lease_seconds"},
      {"controller.lease_renew_deadline_seconds", "3600", "controller.lease_seconds"},
      {"controller.lease_seconds", "10", "controller.lease_renew_deadline_seconds"},
      {"controller.lease_retry_seconds", "10", "controller.lease_renew_deadline_seconds"},
      {"controller.stuck_after_seconds", "72000", "controller.key_retention_seconds"},
      {"controller.key_retention_seconds", "120", "controller.stuck_after_seconds"},
  };
  Scratch scratch;
  for (const Contradiction& c : contradictions) {
    const Key* key = redrive::config::FindKey(c.key);
    REQUIRE_MESSAGE(key != nullptr, c.key);
    for (const Binary& binary : Binaries()) {
      INFO(c.key, " = ", c.value);
      const std::string file = scratch.Write("c.yaml", YamlFor(*key, c.value));
      for (const Outcome& outcome :
           {scratch.Run(binary, file, {}),
            scratch.Run(binary, std::nullopt, {{key->EnvVar(), c.value}})}) {
        CheckOneError(binary, outcome, c.key);
        CHECK(outcome.err.find(c.other) != std::string::npos);
      }
    }
  }
  // Changing both sides consistently is fine (file and environment mixed).
  const std::string file = scratch.Write(
      "ok.yaml", "controller:\n  lease_seconds: 60\n  lease_renew_deadline_seconds: 40\n");
  const Outcome ok =
      scratch.Run(Binaries()[2], file,
                  {{"REDRIVE_CONTROLLER_LEASE_RETRY_SECONDS", "30"},
                   {"REDRIVE_WORKER_BACKOFF_BASE_MS", "700"},
                   {"REDRIVE_WORKER_BACKOFF_MAX_MS", "700"},
                   {"REDRIVE_DATABASE_URL", "postgresql://redrive@127.0.0.1:1/redrive"}});
  INFO(Describe(Binaries()[2], ok));
  CHECK(ok.exit_code == 1);
}

TEST_CASE("hostile: an unreadable, endless or binary config file exits 2 naming its path") {
  Scratch scratch;
  const std::string regular = scratch.Write("plain.yaml", "worker:\n  concurrency: 4\n");
  std::vector<std::pair<std::string, std::string>> paths = {
      {scratch.dir(), "it is a directory"},
      {scratch.dir() + "/missing.yaml", "No such file or directory"},
      {regular + "/below-a-file.yaml", "Not a directory"},
      // Opens fine, and every read fails (EIO): must not be taken for an empty file.
      {"/proc/self/mem", "Input/output error"},
      // Never ends: read up to the 1 MiB a ConfigMap can hold, not until memory runs out.
      {"/dev/zero", "larger than 1 MiB"},
      {scratch.Write("huge.yaml", std::string(2 * 1024 * 1024, '#')), "larger than 1 MiB"},
      {BinaryPath("redrivectl"), ""},  // an executable: some YAML error or not a map
  };
  for (const auto& [path, why] : paths) {
    for (const Binary& binary : Binaries()) {
      INFO(path);
      const Outcome outcome = scratch.Run(binary, path, {}, {}, 5s);
      CheckRejected(binary, outcome);
      const Strings lines = outcome.ErrLines();
      REQUIRE(!lines.empty());
      CHECK(lines[0].rfind(kPrefix + path + ": ", 0) == 0);
      CHECK(outcome.err.find(why) != std::string::npos);
      CHECK(outcome.err.size() < 4096);
    }
  }

  // chmod 000: root reads any file, so the binaries run as `nobody` the way a container runs
  // as a non-root user (runuser is util-linux, always on Debian). The folder stays
  // traversable, so the file's own mode is what refuses.
  REQUIRE(::chmod(scratch.dir().c_str(), 0755) == 0);
  const std::string sealed = scratch.Write("sealed.yaml", "worker:\n  concurrency: 4\n");
  const Strings as_nobody =
      ::geteuid() == 0 ? Strings{"/usr/sbin/runuser", "-u", "nobody", "--"} : Strings{};
  const Env unreachable = {{"REDRIVE_DATABASE_URL", "postgresql://redrive@127.0.0.1:1/redrive"}};
  REQUIRE(::chmod(sealed.c_str(), 0644) == 0);
  const Outcome readable = scratch.Run(Binaries()[2], sealed, unreachable, as_nobody);
  INFO(Describe(Binaries()[2], readable));
  CHECK(readable.exit_code == 1);  // readable: past configuration, then no database
  REQUIRE(::chmod(sealed.c_str(), 0000) == 0);
  for (const Binary& binary : Binaries()) {
    const Outcome outcome = scratch.Run(binary, sealed, unreachable, as_nobody);
    CheckOneError(binary, outcome, sealed);
    CHECK(outcome.err.find("Permission denied") != std::string::npos);
  }
}

TEST_CASE("hostile: YAML syntax errors and YAML bombs exit 2 quickly without echoing the file") {
  Scratch scratch;
  const Strings broken = {
      "worker:\n  concurrency: \"4\n",  // unterminated quote
      // An unclosed quote followed by more sections: yaml-cpp 0.7 alone takes the rest of
      // the file into the value and drops the log section silently.
      "worker:\n  instance_id: \"abc\nlog:\n  level: debug\n",
      // A stray comma: yaml-cpp 0.7's LoadAll alone loops on it forever, allocating.
      ",\n",
      "worker:\n  concurrency: 4\n,\n",
      std::string(",\0", 2),
      "worker:\n  concurrency: 4\n concurrency: 5\n",         // bad indentation
      "worker:\n\tconcurrency: 4\n",                          // a tab
      "worker: {concurrency: 4\n",                            // unclosed flow map
      "worker: [1, 2\n",                                      // unclosed flow list
      "worker:\n  concurrency: *nowhere\n",                   // undefined alias
      "worker:\n  concurrency: !!int 4\n  batch_size: &a\n",  // dangling anchor
      "a: b\n---\nc: d\n",                                    // two documents
      "- worker\n- admin\n",                                  // a list, not a map
      "just words\n",                                         // a scalar
      "worker:\n  ? [complex, key]\n  : 1\n",                 // a key that is not a word
      "\xef\xbb\xbfworker:\n  concurrency: \xff\xfe\n",       // BOM, then invalid UTF-8
      // Deep nesting: the parser must refuse, not overflow its stack.
      "worker:\n  concurrency: " + std::string(100000, '[') + std::string(100000, ']') + "\n",
      "worker:\n  concurrency: " + std::string(100000, '{') + "\n",
  };
  for (std::size_t i = 0; i < broken.size(); ++i) {
    const std::string file = scratch.Write("broken-" + std::to_string(i) + ".yaml", broken[i]);
    for (const Binary& binary : Binaries()) {
      INFO("case ", i, ": ", broken[i].substr(0, 60));
      const Outcome outcome = scratch.Run(binary, file, {}, {}, 5s);
      CheckRejected(binary, outcome);
      CHECK(outcome.err.size() < 4096);
    }
  }

  // A billion laughs: nine aliases to the level below, 30 levels deep. Aliases are shared,
  // never expanded, so this is one short error and not 9^30 nodes.
  std::string bomb = "worker:\n  instance_id: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int level = 1; level <= 30; ++level) {
    const std::string below = "*l" + std::to_string(level - 1);
    bomb += "  k" + std::to_string(level) + ": &l" + std::to_string(level) + " [";
    for (int i = 0; i < 9; ++i) bomb += (i ? ", " : "") + below;
    bomb += "]\n";
  }
  const std::string file = scratch.Write("bomb.yaml", bomb);
  for (const Binary& binary : Binaries()) {
    const Outcome outcome = scratch.Run(binary, file, {}, {}, 5s);
    CheckRejected(binary, outcome);
    INFO(Describe(binary, outcome));
    CHECK(outcome.err.find("worker.instance_id: ") != std::string::npos);
    CHECK(outcome.ErrLines().size() == 31);  // instance_id's type and 30 unknown keys
  }
}

TEST_CASE("hostile: control characters in config names and values never split an error line") {
  Scratch scratch;
  const std::string file =
      scratch.Write("names.yaml", "worker:\n  \"con\\ncurrency\": 4\n\"sec\\ntion\": {}\n");
  for (const Binary& binary : Binaries()) {
    // A newline in a variable's name (execve allows it), in a quoted YAML key, in a value.
    const Outcome outcome = scratch.Run(binary, file,
                                        {{"REDRIVE_WORKER_FOO\nREDRIVE_FAKE", "1"},
                                         {"REDRIVE_LOG_LEVEL", "info\nredrive: injected"},
                                         {"REDRIVE_WORKER_INSTANCE_ID", "a\rb\x1b[2J"}});
    CheckRejected(binary, outcome);
    INFO(Describe(binary, outcome));
    CHECK(outcome.ErrLines().size() == 5);
    CHECK(outcome.err.find("\x1b") == std::string::npos);
    CHECK(outcome.err.find('\r') == std::string::npos);
  }
}

TEST_CASE("hostile: config errors never echo the database password or the webhook secret") {
  Scratch scratch;
  const std::string password(kPassword);
  const std::string secret(kWebhookSecret);
  struct SecretCase {
    std::string what;
    std::string yaml;  // "" for none
    Env env;
    std::string key;  // named by the (first) error
  };
  const std::vector<SecretCase> cases = {
      {"a URL with another scheme",
       "",
       {{"REDRIVE_DATABASE_URL", "mysql://app:" + password + "@db/orders"}},
       "database.url"},
      {"a URL with another scheme in the file",
       "database:\n  url: \"mysql://app:" + password + "@db/orders\"\n",
       {},
       "database.url"},
      {"a password in the query of a bad URL",
       "",
       {{"REDRIVE_DATABASE_URL", "mysql://db/orders?password=" + password}},
       "database.url"},
      {"an unterminated key=value password",
       "",
       {{"REDRIVE_DATABASE_URL", "host=db password='" + password}},
       "database.url"},
      {"a key=value string with junk",
       "database:\n  url: \"host=db password=" + password + " junk\"\n",
       {},
       "database.url"},
      {"the URL as a map",
       "database:\n  url: {user: app, password: " + password + "}\n",
       {},
       "database.url"},
      {"the URL as a list",
       "database:\n  url: [\"postgresql://app:" + password + "@db/x\"]\n",
       {},
       "database.url"},
      {"a good URL beside a bad key",
       "database:\n  url: \"postgresql://app:" + password +
           "@db/x\"\nworker:\n  concurrency: lots\n",
       {},
       "worker.concurrency"},
      {"a misspelt URL variable",
       "",
       {{"REDRIVE_DATABASE_URI", "postgresql://app:" + password + "@db/x"}},
       "REDRIVE_DATABASE_URI"},
      {"a misspelt URL key",
       "database:\n  ulr: \"postgresql://app:" + password + "@db/x\"\n",
       {},
       "database.ulr"},
      {"the URL twice",
       "database:\n  url: \"postgresql://app:" + password +
           "@db/x\"\n  url: \"postgresql://app:" + password + "@db/y\"\n",
       {},
       "database.url"},
      {"credentials in the gateway URL",
       "gateway:\n  url: \"http://app:" + password + "@gw:8080\"\n",
       {},
       "gateway.url"},
      {"the webhook secret as a list",
       "webhook:\n  secret: [" + secret + "]\n",
       {},
       "webhook.secret"},
      {"the webhook secret as a map",
       "webhook:\n  secret: {value: " + secret + "}\n",
       {},
       "webhook.secret"},
      {"a misspelt webhook secret variable",
       "",
       {{"REDRIVE_WEBHOOK_SECRETS", secret}},
       "REDRIVE_WEBHOOK_SECRETS"},
      {"a misspelt webhook secret key", "webhook:\n  secrt: " + secret + "\n", {}, "webhook.secrt"},
      {"the webhook secret twice",
       "webhook:\n  secret: " + secret + "\n  secret: " + secret + "\n",
       {},
       "webhook.secret"},
      {"the webhook secret in a YAML syntax error",
       "webhook:\n  secret: \"" + secret + "\n",
       {},
       ""},
      {"a good secret beside a bad key",
       "webhook:\n  secret: " + secret + "\n  timeout_ms: 0\n",
       {{"REDRIVE_DATABASE_URL", "postgresql://app:" + password + "@db/x"}},
       "webhook.timeout_ms"},
  };
  for (const SecretCase& c : cases) {
    const std::optional<std::string> file =
        c.yaml.empty() ? std::nullopt : std::optional<std::string>(scratch.Write("s.yaml", c.yaml));
    for (const Binary& binary : Binaries()) {
      INFO(c.what);
      const Outcome outcome = scratch.Run(binary, file, c.env);
      CheckRejected(binary, outcome);
      CheckNoSecrets(binary, outcome);
      const std::string named = c.key.empty() ? *file : c.key;
      CHECK(outcome.err.find(kPrefix + named + ": ") != std::string::npos);
    }
  }
  // The webhook worker's own requirement: a secret without a URL names the URL, not the secret.
  const Binary webhook_worker{"redrive-worker", {"--consumer", "webhook"}};
  const Outcome outcome =
      scratch.Run(webhook_worker, std::nullopt, {{"REDRIVE_WEBHOOK_SECRET", secret}});
  CheckOneError(webhook_worker, outcome, "webhook.url");
  CheckNoSecrets(webhook_worker, outcome);

  // A libpq key=value string whose password holds "://" is a valid database.url (it was once
  // refused as a URI with an unknown scheme): past configuration, redrivectl fails to
  // connect, and still never prints the password.
  const Outcome dsn =
      scratch.Run(Binaries()[2], std::nullopt,
                  {{"REDRIVE_DATABASE_URL",
                    "host=127.0.0.1 port=1 dbname=redrive user=app password=ab://" + password}});
  INFO(Describe(Binaries()[2], dsn));
  CHECK(dsn.exit_code == 1);
  CHECK(dsn.err.find(kPrefix) == std::string::npos);
  CheckNoSecrets(Binaries()[2], dsn);
}
