#include "core/runtime/log.hpp"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/runtime/system_clock.hpp"

namespace redrive::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::mutex g_mutex;  // guards the component, the sink and stdout, so lines never interleave
std::string g_component = "redrive";
std::function<void(std::string_view)> g_sink;

constexpr std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

std::string NowIso8601() {
  const auto now = runtime::WallTimeNow();
  const auto seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[40];
  const auto length = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buffer + length, sizeof buffer - length, ".%03dZ", static_cast<int>(millis));
  return buffer;
}

}  // namespace

bool ParseLevel(std::string_view text, Level& level) {
  for (Level candidate : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (text == LevelName(candidate)) {
      level = candidate;
      return true;
    }
  }
  return false;
}

void SetLevel(Level level) {
  g_level.store(level);
}

void SetComponent(std::string component) {
  std::lock_guard lock(g_mutex);
  g_component = std::move(component);
}

void SetSinkForTesting(std::function<void(std::string_view)> sink) {
  std::lock_guard lock(g_mutex);
  g_sink = std::move(sink);
}

std::string Render(std::string_view time_iso8601, Level level, std::string_view component,
                   std::string_view message, Fields fields) {
  nlohmann::ordered_json line;
  line["time"] = time_iso8601;
  line["level"] = LevelName(level);
  line["component"] = component;
  line["message"] = message;
  for (const Field& field : fields) {
    std::visit([&](const auto& value) { line[std::string(field.key)] = value; }, field.value);
  }
  // Replace invalid UTF-8 rather than throw: a log call must never take a worker down.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Write(Level level, std::string_view message, Fields fields) {
  if (level < g_level.load()) return;
  const std::string time = NowIso8601();
  std::lock_guard lock(g_mutex);
  const std::string line = Render(time, level, g_component, message, fields);
  if (g_sink) {
    g_sink(line);
    return;
  }
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

}  // namespace redrive::log
