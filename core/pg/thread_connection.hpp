#pragma once

#include <functional>
#include <stdexcept>
#include <string>

#include "core/config/config.hpp"

namespace pqxx {
class connection_base;
}

namespace redrive::pg {

// How a database failure should be handled, classified the way pqxx::perform does.
enum class DbErrorKind {
  kConnection,  // broken connection / server restarting: retry with a new connection
  kRollback,    // serialization failure, deadlock: the transaction can simply be retried
  kInDoubt,     // the commit may or may not have happened: never retry blindly
  kStatement,   // anything else (constraint, syntax): retrying will not help
};

class DatabaseError : public std::runtime_error {
 public:
  DatabaseError(DbErrorKind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  DbErrorKind kind() const { return kind_; }
  bool Retryable() const {
    return kind_ == DbErrorKind::kConnection || kind_ == DbErrorKind::kRollback;
  }

 private:
  DbErrorKind kind_;
};

// Runs `work` on the calling thread's own connection (opened on first use with
// `application_name`, reopened after it broke). pqxx exceptions come out as DatabaseError,
// with any password removed from the message.
void RunOnThreadConnection(const config::Database& database, const std::string& application_name,
                           const std::function<void(pqxx::connection_base&)>& work);

}  // namespace redrive::pg
