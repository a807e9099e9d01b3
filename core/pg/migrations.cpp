#include "core/pg/migrations.hpp"

#include <cstdio>
#include <pqxx/pqxx>
#include <stdexcept>

namespace redrive::pg {
namespace {

// Any constant works as long as every redrive binary uses the same one.
constexpr long long kMigrationLockKey = 0x7265647269766531;  // "redrive1"

constexpr const char* kCreateMigrationsTable = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer     PRIMARY KEY,
  name       text        NOT NULL,
  checksum   text        NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
))sql";

constexpr const char* kMigrationsTableExists =
    "SELECT to_regclass('schema_migrations') IS NOT NULL";

}  // namespace

std::string Checksum(const std::string& sql) {
  // FNV-1a 64: stable across builds and platforms, which std::hash is not.
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : sql) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

int SchemaVersion(pqxx::connection_base& connection) {
  pqxx::read_transaction tx(connection);
  if (!tx.exec1(kMigrationsTableExists)[0].as<bool>()) return 0;
  return tx.exec1("SELECT coalesce(max(version), 0) FROM schema_migrations")[0].as<int>();
}

MigrationReport Migrate(pqxx::connection_base& connection,
                        const std::vector<Migration>& migrations) {
  MigrationReport report;
  const int newest_known = migrations.empty() ? 0 : migrations.back().version;
  for (const Migration& migration : migrations) {
    pqxx::work tx(connection, "migrate");
    // Held until commit: a concurrent migrate waits here, then sees this version applied.
    tx.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLockKey);
    tx.exec0(kCreateMigrationsTable);
    const int database_version =
        tx.exec1("SELECT coalesce(max(version), 0) FROM schema_migrations")[0].as<int>();
    if (database_version > newest_known) {
      throw std::runtime_error("database schema version " + std::to_string(database_version) +
                               " is newer than this binary knows (" + std::to_string(newest_known) +
                               "); upgrade redrive first");
    }
    const std::string checksum = Checksum(migration.sql);
    const pqxx::result existing = tx.exec_params(
        "SELECT checksum FROM schema_migrations WHERE version = $1", migration.version);
    if (!existing.empty()) {
      if (existing[0][0].as<std::string>() != checksum) {
        throw std::runtime_error("migration " + std::to_string(migration.version) + " (" +
                                 migration.name +
                                 ") was edited after it was applied: add a new migration instead");
      }
      tx.abort();
      continue;
    }
    tx.exec0(migration.sql);
    tx.exec_params0("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version, std::string(migration.name), checksum);
    tx.commit();
    report.applied.push_back(migration.version);
  }
  report.current_version = SchemaVersion(connection);
  return report;
}

}  // namespace redrive::pg
