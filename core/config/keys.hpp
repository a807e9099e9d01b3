#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "core/config/config.hpp"

// The table of configuration keys. Each key is declared once, in keys.cpp; YAML parsing,
// environment names, validation, the docs check and the tests all iterate over it, so a
// new key cannot be parsed but undocumented, or documented but unvalidated.
namespace redrive::config {

// How to reach one field of Config, for reading and for writing.
template <typename T>
struct Accessor {
  T& (*mutable_ref)(Config&);
  const T& (*ref)(const Config&);
};
using Field = std::variant<Accessor<std::string>, Accessor<int>, Accessor<bool>>;

// What is wrong with a string value, or nullopt when it is fine. The message never quotes
// the value: the caller decides whether it may be echoed.
using StringCheck = std::optional<std::string> (*)(std::string_view value);

struct Key {
  std::string_view section;  // "worker"
  std::string_view name;     // "lease_seconds"
  Field field;
  // Integers only: the inclusive range.
  long long min = 0;
  long long max = 0;
  // Strings only: nullptr accepts anything.
  StringCheck check = nullptr;
  // Holds or may hold a secret: no message ever quotes the value, not even redacted.
  // Values of other keys are quoted after RedactSecrets.
  bool secret = false;
  // A valid value different from the default: the tests prove each key can be set.
  std::string_view example;
  // One line for docs/configuration.md.
  std::string_view description;

  std::string Path() const;    // "worker.lease_seconds"
  std::string EnvVar() const;  // "REDRIVE_WORKER_LEASE_SECONDS"
};

// Every key, grouped by section in the order of Config's members.
std::span<const Key> Keys();

// nullptr when no key has that "section.key" path.
const Key* FindKey(std::string_view path);

// The value of `key` in `config` as it would be written in YAML or the environment
// (integers in decimal, booleans as true/false, strings verbatim: secrets too, so never
// log this).
std::string FormatValue(const Key& key, const Config& config);

}  // namespace redrive::config
