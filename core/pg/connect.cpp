#include "core/pg/connect.hpp"

#include <pqxx/pqxx>
#include <utility>
#include <vector>

#include "core/domain/percent_encoding.hpp"

namespace redrive::pg {
namespace {

// libpq key=value quoting: single quotes, with backslash escaping ' and \.
std::string Quote(std::string_view value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

}  // namespace

std::string ConnectionString(const config::Database& database, std::string_view application_name) {
  const std::string timeout = std::to_string(database.connect_timeout_seconds);
  const std::string options =
      "-c statement_timeout=" + std::to_string(database.statement_timeout_ms);
  const std::string_view url = database.url;
  // Our parameters come last: libpq lets a later setting override an earlier one. So a set
  // database.sslmode / database.sslrootcert wins over the url's; unset, they are not
  // written at all and the url's (or PGSSLMODE, or libpq's default) apply.
  std::vector<std::pair<std::string_view, std::string_view>> tls;
  if (!database.sslmode.empty()) tls.emplace_back("sslmode", database.sslmode);
  if (!database.sslrootcert.empty()) tls.emplace_back("sslrootcert", database.sslrootcert);
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    std::string result(url);
    result += url.find('?') == std::string_view::npos ? '?' : '&';
    result += "application_name=" + domain::PercentEncode(application_name);
    result += "&connect_timeout=" + timeout;
    result += "&options=" + domain::PercentEncode(options);
    for (const auto& [key, value] : tls) {
      result += "&" + std::string(key) + "=" + domain::PercentEncode(value);
    }
    return result;
  }
  std::string result(url);
  result += " application_name=" + Quote(application_name);
  result += " connect_timeout=" + timeout;
  result += " options=" + Quote(options);
  for (const auto& [key, value] : tls) result += " " + std::string(key) + "=" + Quote(value);
  return result;
}

void ConnectionDeleter::operator()(pqxx::connection_base* connection) const {
  delete static_cast<pqxx::connection*>(connection);
}

ConnectionPtr Connect(const config::Database& database, std::string_view application_name) {
  return ConnectionPtr(new pqxx::connection(ConnectionString(database, application_name)));
}

std::optional<std::string> Ping(const config::Database& database) {
  try {
    auto connection = Connect(database, "redrive-ping");
    pqxx::nontransaction tx(*connection);
    tx.exec1("SELECT 1");
    return std::nullopt;
  } catch (const std::exception& error) {
    return config::RedactSecrets(OneLine(error.what()));
  }
}

}  // namespace redrive::pg
