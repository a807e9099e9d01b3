// libFuzzer target: the configuration parser (config::Load, YAML text + environment) and
// RedactSecrets.
//
// Input, through FuzzedDataProvider: the YAML text, then up to 8 environment variables
// (a real key's variable, or a made-up REDRIVE_<SECTION>_ name, with a fuzzed value), then
// text around a database password. A secret marker the input cannot contain is planted as
// the webhook secret, in the database URL and in the file.
//
// Beyond "no crash, no sanitizer report, no exception", it checks what operators rely on:
// a configuration Load accepts passes Validate; every error names a key; no error ever
// contains a secret; RedactSecrets masks a URI password whatever surrounds it.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

#include "core/config/config.hpp"
#include "core/config/keys.hpp"

namespace {

namespace config = redrive::config;

// Printable, free of spaces, '@', ':' and '/', so no URI or key=value grammar can split it.
constexpr const char* kMarker = "Zx9SECRETmarkerQ7";

[[noreturn]] void Fail(const std::string& what, const std::string& context) {
  std::cerr << "config_fuzzer: " << what << "\n" << context.substr(0, 2000) << "\n";
  std::abort();
}

std::string Describe(const config::LoadResult& result) {
  std::string text;
  for (const auto& error : result.errors) text += error.key + ": " + error.problem + "\n";
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  std::string yaml = input.ConsumeRandomLengthString(4096);
  config::Environment env;
  const auto keys = config::Keys();
  const int variables = input.ConsumeIntegralInRange(0, 8);
  for (int i = 0; i < variables; ++i) {
    const auto& key = keys[input.ConsumeIntegralInRange<std::size_t>(0, keys.size() - 1)];
    std::string name = key.EnvVar();
    if (input.ConsumeBool()) name += input.ConsumeRandomLengthString(8);  // a typo
    env[name] = input.ConsumeRandomLengthString(64);
  }
  const std::string before = input.ConsumeRandomLengthString(32);
  const std::string after = input.ConsumeRandomLengthString(32);
  const bool secret_in_file = input.ConsumeBool();

  const std::string all_input(reinterpret_cast<const char*>(data), size);
  const bool marker_in_input = all_input.find(kMarker) != std::string::npos;

  // The secrets: the webhook secret, a password in the database URL, and (sometimes) the
  // webhook secret written into the file as well.
  env["REDRIVE_WEBHOOK_SECRET"] = std::string(kMarker) + "-webhook";
  if (env.count("REDRIVE_DATABASE_URL") == 0 || input.ConsumeBool()) {
    env["REDRIVE_DATABASE_URL"] = before + "postgresql://app:" + kMarker + "@" + after;
  }
  if (secret_in_file) yaml += "\nwebhook:\n  secret: " + std::string(kMarker) + "-file\n";

  const config::LoadResult result = config::Load(yaml, env);
  const std::string context = "yaml: " + yaml + "\nerrors:\n" + Describe(result);
  if (result.ok()) {
    const auto again = config::Validate(result.config);
    if (!again.empty()) Fail("Load accepted what Validate refuses: " + again[0].key, context);
  }
  for (const auto& error : result.errors) {
    if (error.key.empty()) Fail("an error that names no key", context);
    if (error.problem.empty()) Fail("an error without a problem", context);
    if (!marker_in_input && (error.key.find(kMarker) != std::string::npos ||
                             error.problem.find(kMarker) != std::string::npos)) {
      Fail("a secret in a config error", context);
    }
  }

  // RedactSecrets: a URI's password is masked whatever text surrounds it.
  const std::string text = before + "postgresql://app:" + kMarker + "@" + after;
  if (!marker_in_input && config::RedactSecrets(text).find(kMarker) != std::string::npos) {
    Fail("RedactSecrets left a password: " + config::RedactSecrets(text), text);
  }
  return 0;
}
