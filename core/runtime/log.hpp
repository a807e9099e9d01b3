#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

// Structured logs: one JSON object per line on stdout, with time, level, component,
// message and whatever ids the caller knows (order_id, event_id, consumer...).
//
// Every line is masked before it is written (see Mask): known secrets never appear, and
// neither do digit runs shaped like card numbers, whatever a message, a field, an error
// text from a library or a payload-derived value carries.
namespace redrive::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

struct Field {
  using Value = std::variant<std::string, std::int64_t, double, bool>;
  Field(std::string_view k, std::string_view v) : key(k), value(std::string(v)) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string(v)) {}
  Field(std::string_view k, std::int64_t v) : key(k), value(v) {}
  Field(std::string_view k, int v) : key(k), value(static_cast<std::int64_t>(v)) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  std::string_view key;
  Value value;
};

using Fields = std::initializer_list<Field>;

// Returns false when `text` is not one of debug, info, warn, error.
bool ParseLevel(std::string_view text, Level& level);
void SetLevel(Level level);
// The process-wide component name ("worker", "controller", "redrivectl", ...).
void SetComponent(std::string component);
// Tests capture lines instead of printing them; pass nullptr to restore stdout.
void SetSinkForTesting(std::function<void(std::string_view line)> sink);

// The values that must never appear in a log line, e.g. the database password and the
// webhook secret (config::LoadOrExit registers them). Replaces the previous set. Values
// shorter than kMinSecretLength bytes are not masked: masking every "abc" would garble the
// logs, and a secret that short protects nothing anyway.
void SetSecrets(std::vector<std::string> secrets);
inline constexpr std::size_t kMinSecretLength = 4;

// What every part of a log line goes through. Pure. First each of `secrets` (longest first)
// becomes "***". Then every run of 13 to 19 digits, written contiguously or in groups
// separated by single spaces or dashes ("4111 1111-1111 1111"), that passes the Luhn check
// has each digit replaced by '*'. A run made of whole groups inside a longer digit sequence
// counts too ("qty 2 4111 1111 1111 1111" masks the card, not the 2). Canonical UUIDs are
// left alone: every event and order id is one, and a UUID is not a card number.
std::string Mask(std::string_view text, std::span<const std::string> secrets = {});

// Renders one log line (without the trailing newline): the component, the message, every
// key and every value masked as Mask does with `secrets`; a number whose digits need
// masking is written as a string. Pure: exposed for tests.
std::string Render(std::string_view time_iso8601, Level level, std::string_view component,
                   std::string_view message, Fields fields,
                   std::span<const std::string> secrets = {});

void Write(Level level, std::string_view message, Fields fields = {});
inline void Debug(std::string_view message, Fields fields = {}) {
  Write(Level::kDebug, message, fields);
}
inline void Info(std::string_view message, Fields fields = {}) {
  Write(Level::kInfo, message, fields);
}
inline void Warn(std::string_view message, Fields fields = {}) {
  Write(Level::kWarn, message, fields);
}
inline void Error(std::string_view message, Fields fields = {}) {
  Write(Level::kError, message, fields);
}

}  // namespace redrive::log
