#pragma once

#include <optional>
#include <string>
#include <string_view>

// Checks of single string values, referenced from the key table. Each returns what is
// wrong, or nullopt; none quotes the value, so callers can keep secrets out of messages.
namespace redrive::config {

// A postgresql:// or postgres:// URI, or a libpq key=value string. The rest of the URI
// grammar is left to libpq, which reports it at connect time with the password removed.
std::optional<std::string> CheckDatabaseUrl(std::string_view value);

// HOST:PORT or [IPV6]:PORT, port 0-65535 (0: the kernel picks one, which tests rely on).
std::optional<std::string> CheckListenAddress(std::string_view value);

// http://host[:port][/path]; https is refused rather than silently sent in clear text.
std::optional<std::string> CheckRequiredHttpUrl(std::string_view value);
// The same, but empty is allowed: the feature is off.
std::optional<std::string> CheckOptionalHttpUrl(std::string_view value);

std::optional<std::string> CheckLogLevel(std::string_view value);

// Empty (leave it to database.url and libpq) or one of libpq's sslmode values.
std::optional<std::string> CheckSslMode(std::string_view value);
// Empty or a file path without control characters. Whether the file exists is libpq's
// to report at connect time: validation does no I/O.
std::optional<std::string> CheckSslRootCert(std::string_view value);

// Empty (derive it from the host name) or a short name without spaces: it is stored in
// outbox.claimed_by and redrive_log and shown by redrivectl.
std::optional<std::string> CheckInstanceId(std::string_view value);

}  // namespace redrive::config
