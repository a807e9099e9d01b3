#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

// Structured logs: one JSON object per line on stdout, with time, level, component,
// message and whatever ids the caller knows (order_id, event_id, consumer...).
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

// Renders one log line (without the trailing newline). Pure: exposed for tests.
std::string Render(std::string_view time_iso8601, Level level, std::string_view component,
                   std::string_view message, Fields fields);

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
