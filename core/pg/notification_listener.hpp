#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "core/config/config.hpp"

namespace redrive::pg {

// LISTENs on one channel with a connection of its own (LISTEN state must never share a
// connection with transactions) on its own thread. Calls `wake` for every notification, and
// once after every LISTEN it issues (at each (re)connect, and when asked to listen again),
// because notifications sent while it was not listening are lost and the caller has to poll
// once to catch up. Reconnects with capped, jittered backoff and reports its connection
// state through `connected`.
class NotificationListener {
 public:
  struct Callbacks {
    std::function<void()> wake;
    std::function<void(bool up, const std::string& error)> connected;
  };

  NotificationListener(config::Database database, std::string application_name, std::string channel,
                       Callbacks callbacks);
  ~NotificationListener();  // stops and joins (within ~half a second)
  NotificationListener(const NotificationListener&) = delete;
  NotificationListener& operator=(const NotificationListener&) = delete;

  // Asks the listener to UNLISTEN (false) or LISTEN again (true), keeping its connection: a
  // busy worker needs no wake-ups (decide::ListenPolicy). Listening again takes effect within
  // about 20 ms, followed by the catch-up `wake`; stopping, within half a second. Any thread.
  void SetListening(bool listening) { wanted_ = listening; }

 private:
  void Run();

  config::Database database_;
  std::string application_name_;
  std::string channel_;
  Callbacks callbacks_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> wanted_{true};
  std::thread thread_;
};

}  // namespace redrive::pg
