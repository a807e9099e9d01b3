#include <iostream>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "cli/commands.hpp"
#include "core/pg/connect.hpp"
#include "core/pg/migrations.hpp"
#include "core/runtime/version.hpp"

namespace redrive::cli {

namespace {

int RunMigrate(const Context& context) {
  if (!context.args.empty()) {
    std::cerr << "redrivectl migrate: unexpected argument '" << context.args.front() << "'\n";
    return kExitUsage;
  }
  try {
    auto connection = pg::Connect(context.config.database, "redrivectl-migrate");
    const pg::MigrationReport report = pg::Migrate(*connection);
    if (context.output == OutputFormat::kJson) {
      nlohmann::json out = {{"applied", report.applied},
                            {"schema_version", report.current_version}};
      std::cout << out.dump() << "\n";
    } else if (report.applied.empty()) {
      std::cout << "schema is up to date (version " << report.current_version << ")\n";
    } else {
      for (int version : report.applied) std::cout << "applied migration " << version << "\n";
      std::cout << "schema is at version " << report.current_version << "\n";
    }
    return kExitOk;
  } catch (const std::exception& error) {
    std::cerr << "redrivectl migrate: " << config::RedactSecrets(error.what()) << "\n";
    return kExitFailure;
  }
}

int RunVersion(const Context& context) {
  if (!context.args.empty()) {
    std::cerr << "redrivectl version: unexpected argument '" << context.args.front() << "'\n";
    return kExitUsage;
  }
  const int binary_schema = pg::EmbeddedMigrations().back().version;
  if (context.output == OutputFormat::kJson) {
    std::cout
        << nlohmann::json{{"version", kRedriveVersion}, {"schema_version", binary_schema}}.dump()
        << "\n";
  } else {
    std::cout << "redrivectl " << kRedriveVersion << " (schema version " << binary_schema << ")\n";
  }
  return kExitOk;
}

}  // namespace

std::vector<Command> MigrateCommands() {
  return {
      {"migrate", "apply pending schema migrations (safe to run twice, or at once)", RunMigrate},
      {"version", "print the redrivectl version and the schema version it carries", RunVersion}};
}

}  // namespace redrive::cli
