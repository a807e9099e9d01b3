#include "core/pg/thread_connection.hpp"

#include <memory>
#include <pqxx/pqxx>

#include "core/pg/connect.hpp"

namespace redrive::pg {
namespace {

thread_local ConnectionPtr t_connection;

std::string Clean(const char* what) {
  std::string text = config::RedactSecrets(what);
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

}  // namespace

void RunOnThreadConnection(const config::Database& database, const std::string& application_name,
                           const std::function<void(pqxx::connection_base&)>& work) {
  try {
    if (!t_connection || !t_connection->is_open()) {
      t_connection.reset();
      t_connection = Connect(database, application_name);
    }
    work(*t_connection);
  } catch (const pqxx::in_doubt_error& error) {
    t_connection.reset();
    throw DatabaseError(DbErrorKind::kInDoubt, Clean(error.what()));
  } catch (const pqxx::broken_connection& error) {
    t_connection.reset();
    throw DatabaseError(DbErrorKind::kConnection, Clean(error.what()));
  } catch (const pqxx::transaction_rollback& error) {
    throw DatabaseError(DbErrorKind::kRollback, Clean(error.what()));
  } catch (const pqxx::sql_error& error) {
    // The server going away mid-statement surfaces as admin_shutdown / crash_shutdown /
    // cannot_connect_now (SQLSTATE class 57P): treat it as a connection failure.
    const std::string state = error.sqlstate();
    if (state == "57014") {  // statement_timeout: transient, the transaction can be retried
      throw DatabaseError(DbErrorKind::kRollback, Clean(error.what()));
    }
    if (state.rfind("57P", 0) == 0 || state.rfind("08", 0) == 0) {
      t_connection.reset();
      throw DatabaseError(DbErrorKind::kConnection, Clean(error.what()));
    }
    throw DatabaseError(DbErrorKind::kStatement, Clean(error.what()));
  } catch (const pqxx::failure& error) {
    t_connection.reset();
    throw DatabaseError(DbErrorKind::kConnection, Clean(error.what()));
  } catch (const std::exception& error) {
    // libpqxx 6 reports some failures on a dead connection as plain std::runtime_error
    // ("Could not obtain client encoding: not connected"). Whatever the type, a connection
    // that is no longer open is replaced; anything else is the caller's own error.
    if (!t_connection || !t_connection->is_open()) {
      t_connection.reset();
      throw DatabaseError(DbErrorKind::kConnection, Clean(error.what()));
    }
    throw;
  }
}

}  // namespace redrive::pg
