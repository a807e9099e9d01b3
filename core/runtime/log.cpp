#include "core/runtime/log.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "core/runtime/system_clock.hpp"

namespace redrive::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::mutex g_mutex;  // guards the component, the sink and stdout, so lines never interleave
std::string g_component = "redrive";
std::function<void(std::string_view)> g_sink;
std::vector<std::string> g_secrets;  // guarded by g_mutex

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

constexpr std::string_view kSecretMask = "***";
constexpr std::size_t kMinCardDigits = 13;
constexpr std::size_t kMaxCardDigits = 19;

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool IsAlnum(char c) {
  return IsHex(c) || (c >= 'g' && c <= 'z') || (c >= 'G' && c <= 'Z');
}

// 8-4-4-4-12 hex digits, not glued to more letters or digits on either side.
bool IsUuidAt(std::string_view text, std::size_t at) {
  constexpr std::size_t kLength = 36;
  if (text.size() - at < kLength) return false;
  if (at > 0 && IsAlnum(text[at - 1])) return false;
  if (at + kLength < text.size() && IsAlnum(text[at + kLength])) return false;
  for (std::size_t i = 0; i < kLength; ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[at + i] != '-' : !IsHex(text[at + i])) return false;
  }
  return true;
}

bool PassesLuhn(std::string_view digits) {
  int sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int digit = *it - '0';
    if (twice) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    twice = !twice;
  }
  return sum % 10 == 0;
}

void MaskSecrets(std::string& text, std::span<const std::string> secrets) {
  std::vector<std::string_view> longest_first;
  for (const std::string& secret : secrets) {
    if (secret.size() >= kMinSecretLength) longest_first.push_back(secret);
  }
  // A secret that contains another must go first, or its remainder would stay readable.
  std::sort(longest_first.begin(), longest_first.end(),
            [](std::string_view a, std::string_view b) { return a.size() > b.size(); });
  for (std::string_view secret : longest_first) {
    for (std::size_t at = text.find(secret); at != std::string::npos;
         at = text.find(secret, at + kSecretMask.size())) {
      text.replace(at, secret.size(), kSecretMask);
    }
  }
}

// Groups of digits joined by single spaces or dashes; every window of whole groups holding
// 13-19 digits that passes Luhn is masked (the windows may overlap).
void MaskCardNumbers(std::string& text) {
  struct Group {
    std::size_t begin;
    std::size_t end;
  };
  std::vector<Group> groups;
  std::vector<Group> masked;
  std::string digits;
  std::size_t i = 0;
  while (i < text.size()) {
    if (IsUuidAt(text, i)) {
      i += 36;
      continue;
    }
    if (!IsDigit(text[i])) {
      ++i;
      continue;
    }
    groups.clear();
    while (true) {
      const std::size_t begin = i;
      while (i < text.size() && IsDigit(text[i])) ++i;
      groups.push_back({begin, i});
      if (i + 1 < text.size() && (text[i] == ' ' || text[i] == '-') && IsDigit(text[i + 1])) {
        ++i;
        continue;
      }
      break;
    }
    for (std::size_t first = 0; first < groups.size(); ++first) {
      digits.clear();
      for (std::size_t last = first; last < groups.size(); ++last) {
        digits.append(text, groups[last].begin, groups[last].end - groups[last].begin);
        if (digits.size() > kMaxCardDigits) break;
        if (digits.size() >= kMinCardDigits && PassesLuhn(digits)) {
          masked.push_back({groups[first].begin, groups[last].end});
        }
      }
    }
  }
  for (const Group& span : masked) {
    for (std::size_t at = span.begin; at < span.end; ++at) {
      if (IsDigit(text[at])) text[at] = '*';
    }
  }
}

}  // namespace

std::string Mask(std::string_view text, std::span<const std::string> secrets) {
  std::string masked(text);
  MaskSecrets(masked, secrets);
  MaskCardNumbers(masked);
  return masked;
}

void SetSecrets(std::vector<std::string> secrets) {
  std::lock_guard lock(g_mutex);
  g_secrets = std::move(secrets);
}

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
                   std::string_view message, Fields fields, std::span<const std::string> secrets) {
  nlohmann::ordered_json line;
  line["time"] = time_iso8601;
  line["level"] = LevelName(level);
  line["component"] = Mask(component, secrets);
  line["message"] = Mask(message, secrets);
  for (const Field& field : fields) {
    std::visit(
        [&](const auto& value) {
          using T = std::decay_t<decltype(value)>;
          auto& slot = line[Mask(field.key, secrets)];
          if constexpr (std::is_same_v<T, std::string>) {
            slot = Mask(value, secrets);
          } else if constexpr (std::is_same_v<T, bool>) {
            slot = value;
          } else {
            // Masked before it is a JSON number: '*' in a number would break the line.
            const std::string text = nlohmann::json(value).dump();
            std::string masked = Mask(text, secrets);
            if (masked == text) {
              slot = value;
            } else {
              slot = std::move(masked);
            }
          }
        },
        field.value);
  }
  // Replace invalid UTF-8 rather than throw: a log call must never take a worker down.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Write(Level level, std::string_view message, Fields fields) {
  if (level < g_level.load()) return;
  const std::string time = NowIso8601();
  std::lock_guard lock(g_mutex);
  const std::string line = Render(time, level, g_component, message, fields, g_secrets);
  if (g_sink) {
    g_sink(line);
    return;
  }
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

}  // namespace redrive::log
