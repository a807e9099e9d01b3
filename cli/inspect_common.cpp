#include "cli/inspect_common.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "cli/output.hpp"
#include "core/pg/thread_connection.hpp"

namespace redrive::cli::inspect {

int WithDatabase(const Context& context, std::string_view command,
                 const std::function<int(pqxx::connection_base&)>& work) {
  int code = kExitOk;
  try {
    pg::RunOnThreadConnection(context.config.database, "redrivectl",
                              [&](pqxx::connection_base& connection) { code = work(connection); });
  } catch (const std::exception& error) {
    std::cerr << "redrivectl " << command << ": " << config::RedactSecrets(error.what()) << "\n";
    return kExitFailure;
  }
  return code;
}

std::string FormatTime(double epoch_seconds) {
  const double whole = std::floor(epoch_seconds);
  auto millis = static_cast<int>(std::lround((epoch_seconds - whole) * 1000));
  auto seconds = static_cast<std::time_t>(whole);
  if (millis == 1000) {
    millis = 0;
    ++seconds;
  }
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
  return text;
}

nlohmann::json TimeOrNull(const std::optional<double>& epoch_seconds) {
  if (!epoch_seconds) return nullptr;
  return FormatTime(*epoch_seconds);
}

std::string Ago(double seconds) {
  if (seconds < 0) return "in " + HumanDuration(-seconds);
  return HumanDuration(seconds) + " ago";
}

}  // namespace redrive::cli::inspect
