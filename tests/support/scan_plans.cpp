#include "tests/support/scan_plans.hpp"

#include <doctest/doctest.h>

#include <pqxx/pqxx>
#include <regex>

#include "tests/support/redrive_processes.hpp"

namespace redrive::testing {

void SeedSettledHistory(const std::string& url, int orders, bool with_audit_rows) {
  Execute(url, R"sql(
    INSERT INTO orders (customer_id, amount_cents, currency, state, created_at, updated_at)
    SELECT 'bulk', 1000, 'USD', 'PAID', now() - interval '1 day', now() - interval '1 day'
    FROM generate_series(1, )sql" +
                   std::to_string(orders) + R"sql();
    INSERT INTO processed_events (event_id, consumer, processed_at, aggregate_id, event_type,
                                  attempts, queued_at)
    SELECT gen_random_uuid(), 'payment', now() - interval '1 hour', id, 'OrderCreated', 1,
           now() - interval '1 day'
    FROM orders;
    INSERT INTO dead_letter_events (outbox_id, event_id, consumer, event_type, payload, reason,
                                    replayed_at)
    SELECT n, event_id, consumer, event_type, '{}', 'max_attempts', now()
    FROM (SELECT p.*, row_number() OVER () AS n FROM processed_events p) e
    WHERE n % 10 = 0;
  )sql");
  if (with_audit_rows) {
    Execute(url, R"sql(
      INSERT INTO redrive_log (at, actor, rule, order_id, outcome)
      SELECT now() - make_interval(secs => g), 'controller-1', 'stuck_order', o.id, 'applied'
      FROM (SELECT id, row_number() OVER () AS g FROM orders) o WHERE g % 4 = 0;
    )sql");
  }
}

void SeedDeadWebhooks(const std::string& url, int orders) {
  Execute(url, R"sql(
    INSERT INTO outbox (consumer, event_type, aggregate_id, payload, attempts, last_error,
                        created_at, available_at, dead_at)
    SELECT 'webhook', 'PaymentSucceeded', id, '{}', 1, 'subscriber_410',
           now() - interval '1 day', now() - interval '1 day', now() - interval '1 day'
    FROM orders LIMIT )sql" +
                   std::to_string(orders) + R"sql(;
    INSERT INTO dead_letter_events (outbox_id, event_id, consumer, event_type, aggregate_id,
                                    payload, reason, attempts, discarded_at)
    SELECT id, event_id, consumer, event_type, aggregate_id, payload, 'subscriber_410', 1, now()
    FROM outbox;
  )sql");
}

void CheckScansUseTheirIndexes(const std::string& url,
                               const std::vector<pg::ControllerScan>& scans) {
  pqxx::connection connection(url);
  pqxx::nontransaction tx(connection);
  int number = 0;
  for (const auto& scan : scans) {
    const std::string statement = "scan_" + std::to_string(number++);
    tx.exec0("PREPARE " + statement + " AS " + std::string(scan.sql));
    std::string plan;
    const std::string arguments(scan.sample_arguments);
    for (const auto& row : tx.exec("EXPLAIN EXECUTE " + statement +
                                   (arguments.empty() ? "" : "(" + arguments + ")"))) {
      plan += row[0].as<std::string>() + "\n";
    }
    INFO("scan ", scan.name, "\n", plan);
    // "a|b": either index serves it.
    CHECK(std::regex_search(plan, std::regex(std::string(scan.index))));
    CHECK_FALSE(std::regex_search(
        plan, std::regex("Seq Scan on (orders|outbox|processed_events|dead_letter_events|"
                         "redrive_log)\\b")));
  }
}

}  // namespace redrive::testing
