#include "core/config/checks.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace redrive::config {
namespace {

bool IsSpaceOrControl(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte <= 0x20 || byte == 0x7f;
}

bool HasSpaceOrControl(std::string_view value) {
  return std::any_of(value.begin(), value.end(), IsSpaceOrControl);
}

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
}

bool IsIpv6Char(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.' || c == '%';
}

// Decimal 0-65535, no sign, no spaces.
std::optional<int> ParsePort(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  int port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + (c - '0');
  }
  if (port > 65535) return std::nullopt;
  return port;
}

struct HostPort {
  std::string_view host;
  std::optional<std::string_view> port;  // absent when there is no ':'
};

// Splits "host", "host:port", "[v6]" or "[v6]:port"; nullopt when the host is malformed.
std::optional<HostPort> SplitHostPort(std::string_view authority) {
  HostPort result;
  std::string_view rest;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    result.host = authority.substr(1, close - 1);
    if (result.host.empty() || !std::all_of(result.host.begin(), result.host.end(), IsIpv6Char)) {
      return std::nullopt;
    }
    rest = authority.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return std::nullopt;
  } else {
    const auto colon = authority.find(':');
    result.host = authority.substr(0, colon);
    if (!std::all_of(result.host.begin(), result.host.end(), IsHostChar)) return std::nullopt;
    if (colon != std::string_view::npos) rest = authority.substr(colon);
  }
  if (!rest.empty()) result.port = rest.substr(1);
  return result;
}

std::optional<std::string> CheckHttpUrl(std::string_view value) {
  constexpr std::string_view kShape = "http://host[:port][/path]";
  if (StartsWithNoCase(value, "https://")) {
    return "https is not supported yet: use " + std::string(kShape) +
           " (terminate TLS in a sidecar or an egress proxy)";
  }
  if (!StartsWithNoCase(value, "http://")) return "must be an " + std::string(kShape) + " URL";
  if (HasSpaceOrControl(value)) return "must not contain spaces or control characters";
  const std::string_view rest = value.substr(7);
  const std::string_view authority = rest.substr(0, rest.find('/'));
  if (authority.find('@') != std::string_view::npos) {
    return "must not contain credentials (user@ or user:password@)";
  }
  const auto parts = SplitHostPort(authority);
  if (!parts) return "has an invalid host; expected " + std::string(kShape);
  if (parts->host.empty()) return "has no host; expected " + std::string(kShape);
  if (parts->port) {
    const auto port = ParsePort(*parts->port);
    if (!port || *port == 0) return "has an invalid port: must be 1-65535";
  }
  return std::nullopt;
}

// libpq's conninfo grammar: keyword = value pairs separated by spaces; a value is either
// unquoted up to the next space or single-quoted with backslash escapes.
std::optional<std::string> CheckKeyValueDsn(std::string_view value) {
  const std::string shape =
      "must be a postgresql:// URI or a libpq key=value string such as "
      "\"host=db dbname=redrive user=redrive\"";
  std::size_t i = 0;
  int pairs = 0;
  const auto skip_spaces = [&] {
    while (i < value.size() && std::isspace(static_cast<unsigned char>(value[i])) != 0) ++i;
  };
  while (true) {
    skip_spaces();
    if (i == value.size()) break;
    const std::size_t keyword_start = i;
    while (i < value.size() &&
           (std::isalnum(static_cast<unsigned char>(value[i])) != 0 || value[i] == '_')) {
      ++i;
    }
    if (i == keyword_start) return shape;
    skip_spaces();
    if (i == value.size() || value[i] != '=') return shape;
    ++i;
    skip_spaces();
    if (i < value.size() && value[i] == '\'') {
      ++i;
      while (i < value.size() && value[i] != '\'') i += value[i] == '\\' ? 2 : 1;
      if (i >= value.size()) return "has an unterminated quote";
      ++i;
    } else {
      while (i < value.size() && std::isspace(static_cast<unsigned char>(value[i])) == 0) ++i;
    }
    ++pairs;
  }
  if (pairs == 0) return shape;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> CheckDatabaseUrl(std::string_view value) {
  if (value.empty()) return "must not be empty";
  if (StartsWithNoCase(value, "postgresql://") || StartsWithNoCase(value, "postgres://")) {
    return std::nullopt;
  }
  if (const auto scheme_end = value.find("://"); scheme_end != std::string_view::npos) {
    // "host=db password=ab://cd" is a key=value string with "://" inside a value.
    if (!CheckKeyValueDsn(value)) return std::nullopt;
    const std::string_view scheme = value.substr(0, scheme_end);
    // The value is a secret; a scheme made only of scheme characters cannot hold any of it.
    const bool printable = !scheme.empty() && std::all_of(scheme.begin(), scheme.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '-' || c == '.';
    });
    return "must use the postgresql:// or postgres:// scheme" +
           (printable ? ", not " + std::string(scheme) + "://" : std::string()) +
           ", or be a libpq key=value string";
  }
  return CheckKeyValueDsn(value);
}

std::optional<std::string> CheckListenAddress(std::string_view value) {
  constexpr std::string_view kShape = "HOST:PORT (e.g. 0.0.0.0:9464)";
  const auto parts = SplitHostPort(value);
  if (!parts || !parts->port) return "must be " + std::string(kShape);
  if (parts->host.empty()) {
    return "has no host: write 0.0.0.0:PORT to listen on every interface";
  }
  if (!ParsePort(*parts->port)) return "has an invalid port: must be 0-65535";
  return std::nullopt;
}

std::optional<std::string> CheckRequiredHttpUrl(std::string_view value) {
  if (value.empty()) return "must not be empty";
  return CheckHttpUrl(value);
}

std::optional<std::string> CheckOptionalHttpUrl(std::string_view value) {
  if (value.empty()) return std::nullopt;
  return CheckHttpUrl(value);
}

std::optional<std::string> CheckLogLevel(std::string_view value) {
  constexpr std::array<std::string_view, 4> kLevels = {"debug", "info", "warn", "error"};
  if (std::find(kLevels.begin(), kLevels.end(), value) != kLevels.end()) return std::nullopt;
  return "must be one of debug, info, warn, error";
}

std::optional<std::string> CheckSslMode(std::string_view value) {
  constexpr std::array<std::string_view, 7> kModes = {
      "", "disable", "allow", "prefer", "require", "verify-ca", "verify-full"};
  if (std::find(kModes.begin(), kModes.end(), value) != kModes.end()) return std::nullopt;
  return "must be one of disable, allow, prefer, require, verify-ca, verify-full (or empty: "
         "leave it to database.url)";
}

std::optional<std::string> CheckSslRootCert(std::string_view value) {
  if (std::any_of(value.begin(), value.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte < 0x20 || byte == 0x7f;
      })) {
    return "must be a file path without control characters";
  }
  return std::nullopt;
}

std::optional<std::string> CheckInstanceId(std::string_view value) {
  // It is also the sessions' application_name, which PostgreSQL cuts at 63 bytes; a longer
  // id would never match pg_stat_activity and every claim would look orphaned.
  constexpr std::size_t kMaxLength = 63;
  if (value.size() > kMaxLength) return "must be at most 63 bytes (PostgreSQL application_name)";
  if (HasSpaceOrControl(value)) return "must not contain spaces or control characters";
  return std::nullopt;
}

}  // namespace redrive::config
