#include "tests/support/order_load.hpp"

#include <chrono>
#include <memory>
#include <pqxx/pqxx>
#include <random>

namespace redrive::testing {

OrderLoad::OrderLoad(std::string database_url, double orders_per_second)
    : database_url_(std::move(database_url)),
      orders_per_second_(orders_per_second),
      thread_([this] { Run(); }) {}

OrderLoad::~OrderLoad() {
  Stop();
}

void OrderLoad::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void OrderLoad::Run() {
  using Clock = std::chrono::steady_clock;
  const auto period = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(1.0 / orders_per_second_));
  std::mt19937 random(42);
  std::uniform_int_distribution<int> amount_cents(500, 25'000);
  std::uniform_int_distribution<int> customer(1, 200);
  std::unique_ptr<pqxx::connection> connection;

  auto next = Clock::now();
  while (!stop_) {
    std::this_thread::sleep_until(next);
    next += period;
    try {
      if (!connection || !connection->is_open()) {
        connection = std::make_unique<pqxx::connection>(database_url_);
      }
      pqxx::work tx(*connection, "place_order");
      tx.exec_params("SELECT place_order($1, $2, 'USD')",
                     "customer-" + std::to_string(customer(random)), amount_cents(random));
      tx.commit();
      ++placed_;
    } catch (const std::exception&) {
      ++failed_;
      connection.reset();
    }
    // Behind by more than a second (a stall): start the schedule again instead of bursting.
    if (Clock::now() - next > std::chrono::seconds(1)) next = Clock::now();
  }
}

}  // namespace redrive::testing
