#include "core/pg/notification_listener.hpp"

#include <algorithm>
#include <optional>
#include <pqxx/pqxx>
#include <random>

#include "core/pg/connect.hpp"

namespace redrive::pg {
namespace {

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& connection, const std::string& channel,
           const std::function<void()>& wake)
      : pqxx::notification_receiver(connection, channel), wake_(wake) {}
  void operator()(const std::string&, int) override { wake_(); }

 private:
  const std::function<void()>& wake_;
};

constexpr auto kWaitSlice = std::chrono::milliseconds(500);  // how quickly Stop() is noticed
// While not listening, how quickly a request to listen again is noticed. Nothing arrives on
// the socket then, so the short wait costs PostgreSQL nothing.
constexpr auto kQuietSlice = std::chrono::milliseconds(20);
constexpr auto kMinBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::milliseconds(5000);

}  // namespace

NotificationListener::NotificationListener(config::Database database, std::string application_name,
                                           std::string channel, Callbacks callbacks)
    : database_(std::move(database)),
      application_name_(std::move(application_name)),
      channel_(std::move(channel)),
      callbacks_(std::move(callbacks)) {
  thread_ = std::thread([this] { Run(); });
}

NotificationListener::~NotificationListener() {
  stopping_ = true;
  thread_.join();
}

void NotificationListener::Run() {
  std::mt19937 random{std::random_device{}()};
  auto backoff = kMinBackoff;
  while (!stopping_) {
    try {
      auto connection = Connect(database_, application_name_);
      callbacks_.connected(true, "");
      backoff = kMinBackoff;
      std::optional<Receiver> receiver;
      while (!stopping_) {
        const bool wanted = wanted_;
        if (wanted && !receiver) {
          receiver.emplace(*connection, channel_, callbacks_.wake);  // LISTEN
          connection->get_notifs();
          callbacks_.wake();  // anything sent while we were not listening: poll once
        } else if (!wanted && receiver) {
          receiver.reset();  // UNLISTEN: PostgreSQL stops signalling this session
        }
        const auto slice = receiver ? kWaitSlice : kQuietSlice;
        connection->await_notification(0, static_cast<long>(slice.count()) * 1000);
      }
    } catch (const std::exception& error) {
      if (stopping_) break;
      callbacks_.connected(false, config::RedactSecrets(error.what()));
      // Full jitter, so a fleet of workers does not reconnect in lockstep after a restart.
      const auto wait = std::chrono::milliseconds(
          std::uniform_int_distribution<long>(kMinBackoff.count(), backoff.count())(random));
      for (auto slept = std::chrono::milliseconds(0); slept < wait && !stopping_;
           slept += std::chrono::milliseconds(50)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      backoff = std::min(backoff * 2, kMaxBackoff);
    }
  }
}

}  // namespace redrive::pg
