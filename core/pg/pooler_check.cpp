#include "core/pg/pooler_check.hpp"

#include <pqxx/pqxx>

#include "core/pg/connect.hpp"

namespace redrive::pg {

std::optional<std::string> DetectSharedSessions(const config::Database& database) {
  try {
    ConnectionPtr first = Connect(database, "redrive-session-probe");
    ConnectionPtr second = Connect(database, "redrive-session-probe");
    pqxx::nontransaction first_tx(*first, "session_probe");
    const int first_pid = first_tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
    pqxx::work second_tx(*second, "session_probe");
    const int second_pid = second_tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
    second_tx.commit();
    if (first_pid != second_pid) return std::nullopt;
    return "database.url: two connections shared PostgreSQL session " + std::to_string(first_pid) +
           ": a pooler in transaction or statement mode (PgBouncer pool_mode=transaction?) is in "
           "between. redrive needs a session per connection (LISTEN, and live-claim detection "
           "by application_name): connect to PostgreSQL directly or use pool_mode=session";
  } catch (const std::exception&) {
    return std::nullopt;  // unreachable now: the process starts and reconnects as usual
  }
}

}  // namespace redrive::pg
