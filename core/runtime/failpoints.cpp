#include "core/runtime/failpoints.hpp"

#include <charconv>
#include <cstdlib>
#include <thread>

#include "core/runtime/log.hpp"

namespace redrive::runtime {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

std::optional<FailpointAction> ParseAction(std::string_view text) {
  if (text == "abort") return FailpointAbort{};
  if (text == "error") return FailpointError{};
  constexpr std::string_view kSleep = "sleep(";
  if (text.starts_with(kSleep) && text.ends_with(")")) {
    const std::string_view digits = text.substr(kSleep.size(), text.size() - kSleep.size() - 1);
    long long millis = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), millis);
    if (error == std::errc() && end == digits.data() + digits.size() && millis >= 0) {
      return FailpointSleep{std::chrono::milliseconds(millis)};
    }
  }
  return std::nullopt;
}

}  // namespace

FailpointSpec ParseFailpoints(std::string_view text) {
  FailpointSpec spec;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view entry = Trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (entry.empty()) continue;
    const auto eq = entry.find('=');
    const std::string_view name = eq == std::string_view::npos ? entry : Trim(entry.substr(0, eq));
    const auto action =
        eq == std::string_view::npos ? std::nullopt : ParseAction(Trim(entry.substr(eq + 1)));
    if (name.empty() || !action) {
      spec.errors.push_back("REDRIVE_FAILPOINTS: '" + std::string(entry) +
                            "' is not name=abort|error|sleep(ms)");
      continue;
    }
    spec.actions[std::string(name)] = *action;
  }
  return spec;
}

const FailpointSpec& ActiveFailpoints() {
  static const FailpointSpec kSpec = [] {
    const char* value = std::getenv("REDRIVE_FAILPOINTS");
    return value == nullptr ? FailpointSpec{} : ParseFailpoints(value);
  }();
  return kSpec;
}

bool HitFailpoint(std::string_view name) {
  const auto& actions = ActiveFailpoints().actions;
  if (actions.empty()) return false;
  const auto found = actions.find(name);
  if (found == actions.end()) return false;
  log::Warn("failpoint hit", {{"failpoint", name}});
  if (std::holds_alternative<FailpointAbort>(found->second)) std::abort();
  if (const auto* sleep = std::get_if<FailpointSleep>(&found->second)) {
    std::this_thread::sleep_for(sleep->duration);
    return false;
  }
  return true;
}

}  // namespace redrive::runtime
