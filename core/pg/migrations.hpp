#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pqxx {
class connection_base;
}

namespace redrive::pg {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

// schema/NNN_name.sql, compiled in (cmake/EmbedMigrations.cmake), ordered by version.
const std::vector<Migration>& EmbeddedMigrations();

struct MigrationReport {
  std::vector<int> applied;  // versions applied by this call, in order
  int current_version = 0;   // highest version in the database afterwards
};

// A stable fingerprint of a migration's text, recorded so an edited, already-applied
// migration is caught instead of silently diverging between environments.
std::string Checksum(const std::string& sql);

// Applies pending migrations in order, each once, each in its own transaction holding an
// advisory transaction lock, so two concurrent runs (two pods starting, say) serialize and
// the second finds nothing to do. Throws std::runtime_error when an applied migration's
// checksum differs or the database is newer than this binary.
MigrationReport Migrate(pqxx::connection_base& connection,
                        const std::vector<Migration>& migrations = EmbeddedMigrations());

// Highest applied version (0 for an empty database).
int SchemaVersion(pqxx::connection_base& connection);

}  // namespace redrive::pg
