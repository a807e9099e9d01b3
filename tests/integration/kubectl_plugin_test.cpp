// `kubectl redrive` (tools/kubectl-redrive) against a stand-in `kubectl` first on PATH that
// records its arguments: no cluster is needed to check the pod selection and that every
// argument reaches redrivectl unchanged. Also: the krew manifest is valid YAML with the
// fields krew needs.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/process.hpp"

namespace {

using namespace redrive::testing;

constexpr const char* kPlugin = REDRIVE_SOURCE_DIR "/tools/kubectl-redrive";
constexpr const char* kFakePod = "redrive-controller-7d9f-abcde";

// A temp dir with an executable `kubectl` that appends each call's arguments to calls.txt,
// one per line and a "--end--" line after each call, and answers `get pods` with `pod_name`.
class FakeKubectl {
 public:
  explicit FakeKubectl(const std::string& pod_name) : dir_(MakeTempDir("fake-kubectl")) {
    const std::string script = dir_ + "/kubectl";
    std::ofstream out(script);
    out << "#!/usr/bin/env bash\n"
           "for arg in \"$@\"; do printf '%s\\n' \"$arg\" >> '"
        << Calls() << "'; done\n"
        << "echo --end-- >> '" << Calls() << "'\n"
        << "for arg in \"$@\"; do\n"
           "  if [ \"$arg\" = get ]; then printf '%s' '"
        << pod_name << "'; exit 0; fi\n"
        << "  if [ \"$arg\" = exec ]; then echo 'redrivectl ran'; exit 0; fi\n"
           "done\n";
    out.close();
    REQUIRE(::chmod(script.c_str(), 0755) == 0);
  }
  ~FakeKubectl() { std::filesystem::remove_all(dir_); }

  std::string Calls() const { return dir_ + "/calls.txt"; }

  // Each call's arguments, in order.
  std::vector<std::vector<std::string>> Recorded() const {
    std::vector<std::vector<std::string>> calls(1);
    std::istringstream lines(ReadFile(Calls()));
    for (std::string line; std::getline(lines, line);) {
      if (line == "--end--") {
        calls.emplace_back();
      } else {
        calls.back().push_back(line);
      }
    }
    calls.pop_back();
    return calls;
  }

  CommandResult Run(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {kPlugin};
    argv.insert(argv.end(), args.begin(), args.end());
    const char* path = std::getenv("PATH");
    return RunCommand(argv, {{"PATH", dir_ + ":" + (path != nullptr ? path : "/usr/bin:/bin")}});
  }

 private:
  std::string dir_;
};

// The value after `flag` in `args` ("" when absent).
std::string After(const std::vector<std::string>& args, const std::string& flag) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == flag) return args[i + 1];
  }
  return "";
}

bool Has(const std::vector<std::string>& args, const std::string& arg) {
  return std::find(args.begin(), args.end(), arg) != args.end();
}

// Everything after the first `--`.
std::vector<std::string> AfterDoubleDash(const std::vector<std::string>& args) {
  const auto dash = std::find(args.begin(), args.end(), "--");
  return dash == args.end() ? std::vector<std::string>{}
                            : std::vector<std::string>(dash + 1, args.end());
}

}  // namespace

TEST_CASE("kubectl redrive finds the release's controller pod and passes every argument through") {
  FakeKubectl kubectl(kFakePod);
  const CommandResult result =
      kubectl.Run({"-n", "shop", "--context", "prod", "--release", "r1", "dlq", "replay",
                   "--consumer", "payment", "--reason", "a b"});
  INFO("output: ", result.output);
  REQUIRE(result.exit_code == 0);
  CHECK(result.output.find("redrivectl ran") != std::string::npos);

  const auto calls = kubectl.Recorded();
  REQUIRE(calls.size() == 2);
  const auto& get = calls[0];
  CHECK(Has(get, "get"));
  CHECK(Has(get, "pods"));
  CHECK(After(get, "-l") ==
        "app.kubernetes.io/name=redrive,app.kubernetes.io/component=controller,"
        "app.kubernetes.io/instance=r1");
  CHECK(Has(get, "--field-selector=status.phase=Running"));
  CHECK(After(get, "-n") == "shop");
  CHECK(After(get, "--context") == "prod");

  const auto& exec = calls[1];
  CHECK(After(exec, "-n") == "shop");
  CHECK(After(exec, "--context") == "prod");
  CHECK(After(exec, "exec") == kFakePod);
  CHECK(After(exec, "-c") == "controller");
  CHECK(AfterDoubleDash(exec) == std::vector<std::string>{"redrivectl", "dlq", "replay",
                                                          "--consumer", "payment", "--reason",
                                                          "a b"});
  // The plugin's own flags never reach redrivectl.
  for (const auto& plugin_flag : {"--release", "r1", "shop", "prod"}) {
    CHECK_FALSE(Has(AfterDoubleDash(exec), plugin_flag));
  }
}

TEST_CASE("kubectl redrive without plugin flags uses the current context and namespace") {
  FakeKubectl kubectl(kFakePod);
  const CommandResult result = kubectl.Run({"status", "-o", "json"});
  INFO("output: ", result.output);
  REQUIRE(result.exit_code == 0);
  const auto calls = kubectl.Recorded();
  REQUIRE(calls.size() == 2);
  CHECK(After(calls[0], "-l") ==
        "app.kubernetes.io/name=redrive,app.kubernetes.io/component=controller");
  for (const auto& call : calls) {
    CHECK_FALSE(Has(call, "-n"));
    CHECK_FALSE(Has(call, "--context"));
  }
  CHECK(AfterDoubleDash(calls[1]) ==
        std::vector<std::string>{"redrivectl", "status", "-o", "json"});
}

TEST_CASE("kubectl redrive takes plugin flags anywhere before -- and passes the rest verbatim") {
  FakeKubectl kubectl(kFakePod);
  const CommandResult result = kubectl.Run({"orders", "show", "--namespace=shop", "id-1",
                                            "--context=prod", "--", "-n", "--release", "x y"});
  INFO("output: ", result.output);
  REQUIRE(result.exit_code == 0);
  const auto calls = kubectl.Recorded();
  REQUIRE(calls.size() == 2);
  CHECK(After(calls[1], "-n") == "shop");
  CHECK(After(calls[1], "--context") == "prod");
  CHECK(AfterDoubleDash(calls[1]) ==
        std::vector<std::string>{"redrivectl", "orders", "show", "id-1", "-n", "--release", "x y"});
}

TEST_CASE("kubectl redrive exits 1 with a message when no controller pod runs") {
  FakeKubectl kubectl("");
  const CommandResult result = kubectl.Run({"-n", "shop", "status"});
  CHECK(result.exit_code == 1);
  CHECK(result.output.find("no running redrive controller pod found") != std::string::npos);
  CHECK(result.output.find("namespace shop") != std::string::npos);
  const auto calls = kubectl.Recorded();
  REQUIRE(calls.size() == 1);  // never exec'd
  CHECK(Has(calls[0], "get"));
}

TEST_CASE("kubectl redrive --help explains the plugin and runs nothing") {
  FakeKubectl kubectl(kFakePod);
  const CommandResult result = kubectl.Run({"--help"});
  CHECK(result.exit_code == 0);
  CHECK(result.output.find("usage: kubectl redrive") != std::string::npos);
  CHECK(result.output.find("--release NAME") != std::string::npos);
  CHECK(kubectl.Recorded().empty());

  // After a command, --help is the command's own: redrivectl answers it.
  REQUIRE(kubectl.Run({"dlq", "--help"}).exit_code == 0);
  const auto calls = kubectl.Recorded();
  REQUIRE(calls.size() == 2);
  CHECK(AfterDoubleDash(calls[1]) == std::vector<std::string>{"redrivectl", "dlq", "--help"});

  CHECK(kubectl.Run({}).exit_code == 2);
}

TEST_CASE("the krew manifest is a Plugin named redrive that installs kubectl-redrive") {
  const YAML::Node manifest = YAML::LoadFile(REDRIVE_SOURCE_DIR "/plugins/krew/redrive.yaml");
  CHECK(manifest["apiVersion"].as<std::string>() ==
        "krew.googlecontainertools.github.com/v1alpha2");
  CHECK(manifest["kind"].as<std::string>() == "Plugin");
  CHECK(manifest["metadata"]["name"].as<std::string>() == "redrive");
  const YAML::Node spec = manifest["spec"];
  CHECK(spec["version"].as<std::string>() == "v0.1.0");
  for (const char* key : {"homepage", "shortDescription", "description"}) {
    CHECK_FALSE(spec[key].as<std::string>().empty());
  }
  REQUIRE(spec["platforms"].size() == 1);
  const YAML::Node platform = spec["platforms"][0];
  CHECK(platform["selector"]["matchLabels"]["os"].as<std::string>() == "linux");
  CHECK(platform["selector"]["matchLabels"]["arch"].as<std::string>() == "amd64");
  CHECK(platform["bin"].as<std::string>() == "kubectl-redrive");
  CHECK(platform["uri"].as<std::string>().rfind("https://", 0) == 0);
  CHECK(platform["sha256"].as<std::string>().find("PLACEHOLDER") != std::string::npos);
  CHECK(platform["files"][0]["from"].as<std::string>() == "kubectl-redrive");
}
