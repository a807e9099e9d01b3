#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/config/config.hpp"

namespace pqxx {
class connection_base;
}

namespace redrive::pg {

// A libpq connection string for `database`, tagged with `application_name` (workers use
// their instance id, so the controller can tell a live claim holder from a dead one in
// pg_stat_activity) and with the configured connect and statement timeouts, and with
// database.sslmode / database.sslrootcert when they are set (they then win over the url's).
std::string ConnectionString(const config::Database& database, std::string_view application_name);

// libpqxx 6's connection_base has no virtual destructor: a connection must be deleted as
// the concrete pqxx::connection it is, or it is never closed properly (AddressSanitizer
// reports the mismatch). This deleter does that, outside the header.
struct ConnectionDeleter {
  void operator()(pqxx::connection_base* connection) const;
};
using ConnectionPtr = std::unique_ptr<pqxx::connection_base, ConnectionDeleter>;

// Opens a connection; throws pqxx::broken_connection with libpq's reason on failure.
ConnectionPtr Connect(const config::Database& database, std::string_view application_name);

// One round trip on a fresh connection. nullopt when the database answered, otherwise why
// not (with any password removed).
std::optional<std::string> Ping(const config::Database& database);

}  // namespace redrive::pg
