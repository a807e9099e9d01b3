#pragma once

#include <optional>
#include <string>

#include "core/config/config.hpp"

namespace redrive::pg {

// Whether database.url reaches PostgreSQL through a pooler that hands one server session to
// several clients (PgBouncer in transaction or statement mode). redrive needs a session per
// connection: workers LISTEN on theirs, and the controller tells a live claim holder from a
// dead one by its session's application_name; behind such a pooler neither holds.
//
// The probe: client A runs one statement, which returns its server session to the pool;
// client B then opens a transaction. Directly, or behind a session-mode pool, B always gets a
// session of its own. A pool that shares sessions hands B the one A just gave back (PgBouncer
// reuses the most recently released server connection), so both see the same backend pid.
//
// Returns a message naming the problem when sessions are shared, nullopt when they are not
// or when the database cannot be reached (the caller starts anyway and retries as usual).
std::optional<std::string> DetectSharedSessions(const config::Database& database);

}  // namespace redrive::pg
