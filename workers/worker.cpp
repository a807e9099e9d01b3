#include "workers/worker.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <iostream>
#include <random>

#include "core/decide/circuit_breaker.hpp"
#include "core/decide/claim_cursor.hpp"
#include "core/decide/claim_pacing.hpp"
#include "core/decide/listen_policy.hpp"
#include "core/http/admin_server.hpp"
#include "core/http/gateway_client.hpp"
#include "core/metrics/worker_metrics.hpp"
#include "core/pg/database_watch.hpp"
#include "core/pg/notification_listener.hpp"
#include "core/runtime/failpoints.hpp"
#include "core/runtime/health.hpp"
#include "core/runtime/log.hpp"
#include "core/runtime/sleep.hpp"
#include "core/runtime/system_clock.hpp"
#include "core/runtime/version.hpp"
#include "core/runtime/wake_signal.hpp"
#include "workers/consumers/noop_consumer.hpp"
#include "workers/consumers/payment_consumer.hpp"
#include "workers/consumers/webhook_consumer.hpp"
#include "workers/database.hpp"
#include "workers/event_actions.hpp"

namespace redrive::workers {
namespace {

namespace net = boost::asio;
using std::chrono::milliseconds;

// The greatest queue position among claimed rows (they come back in id order, not queue
// order).
std::optional<decide::QueuePosition> LastPosition(const std::vector<pg::ClaimedEvent>& events) {
  std::optional<decide::QueuePosition> last;
  for (const auto& event : events) {
    const decide::QueuePosition position{.available_at_us = event.available_at_us,
                                         .outbox_id = event.outbox_id};
    if (!last || *last < position) last = position;
  }
  return last;
}

// The claim loop and the bookkeeping of in-flight events. Everything here runs on the
// io_context's single thread, so plain members need no locks.
class ClaimLoop {
 public:
  ClaimLoop(const WorkerSetup& setup, Consumer& consumer, EventActions& actions, Database& database,
            metrics::WorkerMetrics& metrics, const Clock& clock, net::io_context& io)
      : setup_(setup),
        consumer_(consumer),
        actions_(actions),
        database_(database),
        metrics_(metrics),
        clock_(clock),
        io_(io),
        wake_(io.get_executor()),
        slot_freed_(io.get_executor()) {
    actions_.OnCompletionsFlushed([this] { slot_freed_.Notify(); });
  }

  void Wake() { wake_.Notify(); }

  // Where to say whether the worker should keep its LISTEN (decide::ListenPolicy).
  void OnListeningChange(std::function<void(bool)> callback) {
    on_listening_change_ = std::move(callback);
  }

  net::awaitable<void> Run() {
    const milliseconds poll(setup_.config.worker.poll_interval_ms);
    while (!draining_) {
      Dispatch();
      if (backoff_ > milliseconds(0)) {
        const milliseconds pause = backoff_;
        backoff_ = milliseconds(0);
        co_await runtime::AsyncSleep(pause);
        continue;
      }
      if (!MayClaim()) {
        co_await slot_freed_.Wait(poll);
        continue;
      }
      if (!consumer_.ShouldClaim()) {
        SetListening(listen_policy_.Listen());
        co_await wake_.Wait(std::min(poll, milliseconds(500)));
        continue;
      }
      if (caught_up_) {
        // The last claim came back short: sleep until a NOTIFY, the poll backstop, or
        // shutdown. While another claim is still out, its return decides instead.
        caught_up_ = false;
        if (claims_in_flight_ == 0) co_await wake_.Wait(poll);
        continue;
      }
      StartClaim();
    }
  }

  // Stops claiming; in-flight events go on.
  void BeginDrain() {
    draining_ = true;
    wake_.Notify();
    slot_freed_.Notify();
  }

  int inflight() const { return inflight_; }
  int claims_in_flight() const { return claims_in_flight_; }
  int pending_completions() const { return actions_.PendingCompletions(); }
  // Claimed, not started: a drain leaves them to the final release.
  int queued() const { return static_cast<int>(queue_.size()); }

 private:
  bool MayClaim() const {
    return decide::ShouldStartClaim(
        {.concurrency = setup_.config.worker.concurrency,
         .inflight = inflight_,
         .queued = static_cast<int>(queue_.size()),
         .claims_in_flight = claims_in_flight_,
         .pending_completions = actions_.PendingCompletions(),
         .last_claim_full = last_claim_full_,
         .max_pending_completions = static_cast<int>(CompletionBatcher::kMaxBatch)});
  }

  void StartClaim() {
    const auto& worker = setup_.config.worker;
    const int free_slots = worker.concurrency - inflight_;
    const int limit = std::max(
        1, std::min(worker.batch_size, consumer_.ClaimLimit(worker.batch_size + free_slots)));
    // Only a full-size claim may be overlapped: a smaller one (a half-open breaker's single
    // probe) is meant to be alone.
    if (limit < worker.batch_size) last_claim_full_ = false;
    ++claims_in_flight_;
    net::co_spawn(io_, ClaimOnce(limit, cursor_.Next()), net::detached);
  }

  net::awaitable<void> ClaimOnce(int limit, std::optional<decide::QueuePosition> after) {
    const auto& worker = setup_.config.worker;
    const pg::ClaimRequest request{.consumer = setup_.consumer,
                                   .instance_id = setup_.instance_id,
                                   .limit = limit,
                                   .lease = std::chrono::seconds(worker.lease_seconds),
                                   .max_payload_bytes = worker.max_payload_bytes,
                                   .after = after};
    const DbWork<std::vector<pg::ClaimedEvent>> claim = [request](pqxx::connection_base& c) {
      return pg::Claim(c, request);
    };
    auto claimed = co_await database_.Run<std::vector<pg::ClaimedEvent>>(claim);
    --claims_in_flight_;
    if (!claimed.ok()) {
      backoff_ =
          milliseconds(std::uniform_int_distribution<long>(50, database_backoff_.count())(random_));
      log::Warn("claim failed, backing off",
                {{"consumer", setup_.consumer},
                 {"error", claimed.error->what()},
                 {"backoff_ms", static_cast<std::int64_t>(backoff_.count())}});
      database_backoff_ = std::min(database_backoff_ * 2, milliseconds(5000));
      last_claim_full_ = false;
      cursor_.OnFailed();
      SetListening(listen_policy_.Listen());
    } else {
      database_backoff_ = milliseconds(100);
      std::vector<pg::ClaimedEvent> events = std::move(claimed.value);
      if (!events.empty()) {
        metrics_.claims_total.Increment(static_cast<double>(events.size()));
        runtime::HitFailpoint("after_claim");
      }
      const bool full = static_cast<int>(events.size()) >= limit;
      cursor_.OnClaimed(full, LastPosition(events));
      for (auto& event : events) queue_.push_back(std::move(event));
      last_claim_full_ = static_cast<int>(events.size()) >= worker.batch_size;
      if (!full) caught_up_ = true;
      SetListening(listen_policy_.OnClaim(full, clock_.Now()));
      Dispatch();
    }
    slot_freed_.Notify();
  }

  void SetListening(bool listening) {
    if (on_listening_change_) on_listening_change_(listening);
  }

  // Starts queued events while there are free slots.
  void Dispatch() {
    const int concurrency = setup_.config.worker.concurrency;
    while (!draining_ && inflight_ < concurrency && !queue_.empty()) {
      ++inflight_;
      metrics_.inflight.Set(inflight_);
      net::co_spawn(io_, HandleOne(std::move(queue_.front())), net::detached);
      queue_.pop_front();
    }
  }

  net::awaitable<void> HandleOne(pg::ClaimedEvent event) {
    const auto started = clock_.Now();
    EventOutcome outcome = EventOutcome::kAbandoned;
    try {
      outcome = co_await consumer_.Handle(event);
    } catch (const std::exception& error) {
      // A bug, not bad data: the row is left to lease expiry and the controller.
      log::Error(
          "event handler failed",
          {{"event_id", event.event_id}, {"consumer", event.consumer}, {"error", error.what()}});
    }
    metrics_.Events(std::string(ToString(outcome))).Increment();
    metrics_.event_duration_seconds.Observe(
        std::chrono::duration<double>(clock_.Now() - started).count());
    --inflight_;
    metrics_.inflight.Set(inflight_);
    // Posted, not called: a handler that finishes without suspending (a no-op) would
    // otherwise start the next one on this stack, and so on down the whole queue.
    net::post(io_, [this] { Dispatch(); });
    slot_freed_.Notify();
  }

  const WorkerSetup& setup_;
  Consumer& consumer_;
  EventActions& actions_;
  Database& database_;
  metrics::WorkerMetrics& metrics_;
  const Clock& clock_;
  net::io_context& io_;
  runtime::WakeSignal wake_;
  runtime::WakeSignal slot_freed_;
  std::deque<pg::ClaimedEvent> queue_;  // claimed, waiting for a slot
  int inflight_ = 0;
  int claims_in_flight_ = 0;
  bool last_claim_full_ = false;  // the last claim got a whole batch_size
  bool caught_up_ = false;        // the last claim came back short: wait for news
  // Where the next claim starts: after the rows this worker still holds. A rescan from the
  // head every 16 claims (8,000 rows at batch 500) picks up rows left behind.
  decide::ClaimCursor cursor_{16};
  milliseconds backoff_{0};  // set by a failed claim, slept by the loop
  milliseconds database_backoff_{100};
  std::mt19937 random_{std::random_device{}()};
  // A second of nothing but full claims: the worker has work without being woken.
  decide::ListenPolicy listen_policy_{milliseconds(1000)};
  std::function<void(bool)> on_listening_change_;
  bool draining_ = false;
};

net::awaitable<void> Heartbeat(runtime::Health& health) {
  while (true) {
    health.Beat();
    co_await runtime::AsyncSleep(milliseconds(1000));
  }
}

// SIGTERM: readiness 503, stop claiming, let in-flight events finish within the grace
// period, then give back whatever is still claimed so other workers take it at once.
net::awaitable<void> DrainOnSignal(net::signal_set& signals, ClaimLoop& loop,
                                   runtime::Health& health, Database& database,
                                   const WorkerSetup& setup, net::io_context& io) {
  auto [error, signal] = co_await signals.async_wait(net::as_tuple(net::use_awaitable));
  if (error) co_return;
  log::Info("draining", {{"signal", signal}, {"inflight", loop.inflight()}});
  health.SetDraining();
  loop.BeginDrain();
  const auto grace = std::chrono::seconds(setup.config.worker.shutdown_grace_seconds);
  milliseconds waited(0);
  while ((loop.inflight() > 0 || loop.pending_completions() > 0 || loop.claims_in_flight() > 0) &&
         waited < grace) {
    co_await runtime::AsyncSleep(milliseconds(20));
    waited += milliseconds(20);
  }
  if (loop.inflight() > 0 || loop.queued() > 0) {
    const std::string instance = setup.instance_id;
    const std::string consumer = setup.consumer;
    const DbWork<int> release_all = [instance, consumer](pqxx::connection_base& c) {
      return pg::ReleaseAllClaims(c, instance, consumer);
    };
    const auto released = co_await database.Run<int>(release_all);
    if (released.ok()) {
      log::Warn(
          "released unfinished claims",
          {{"inflight", loop.inflight()}, {"queued", loop.queued()}, {"released", released.value}});
    } else {
      log::Error("could not release claims; they return when their lease expires",
                 {{"error", released.error->what()}});
    }
  }
  log::Info("drained", {{"inflight", loop.inflight()}});
  io.stop();
}

}  // namespace

int RunWorker(const WorkerSetup& setup) {
  const config::Config& config = setup.config;
  net::io_context io;
  runtime::SystemClock clock;
  runtime::Health health(clock, std::chrono::seconds(config.admin.liveness_timeout_seconds));
  metrics::Registry registry({.component = "worker", .version = kRedriveVersion});
  metrics::WorkerMetrics metrics(registry, setup.consumer);

  http::AdminServer admin({.listen = config.admin.listen,
                           .request_timeout = milliseconds(config.admin.request_timeout_ms)},
                          health, registry);
  if (!http::StartOrLog(admin)) return 1;

  pg::DatabaseWatch watch(config.database, milliseconds(2000), pg::ReadinessReport(health));

  Database database(config.database, setup.instance_id, [&metrics](const pg::DatabaseError&) {
    metrics.database_errors_total.Increment();
  });
  std::mt19937_64 random{std::random_device{}()};
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  EventActions actions(io.get_executor(), database, metrics, config.worker, setup.instance_id,
                       [&random, &unit] { return unit(random); });

  // Only the chosen consumer's dependencies are built.
  std::unique_ptr<http::GatewayClient> gateway;
  std::unique_ptr<decide::CircuitBreaker> breaker;
  std::unique_ptr<Consumer> consumer;
  if (setup.consumer == "payment") {
    gateway = std::make_unique<http::GatewayClient>(
        *http::ParseHttpUrl(config.gateway.url), milliseconds(config.gateway.timeout_ms), clock,
        [&metrics](int status, std::chrono::nanoseconds duration) {
          metrics.GatewayRequests(status).Increment();
          metrics.gateway_request_duration_seconds.Observe(
              std::chrono::duration<double>(duration).count());
        });
    const milliseconds open_for = std::chrono::seconds(config.gateway.breaker_open_seconds);
    breaker = std::make_unique<decide::CircuitBreaker>(
        clock, decide::BreakerPolicy{.failure_threshold = config.gateway.breaker_failure_threshold,
                                     .open_for = open_for});
    consumer = std::make_unique<PaymentConsumer>(
        actions, *gateway, *breaker, metrics, open_for,
        std::chrono::seconds(config.controller.key_retention_seconds));
  } else if (setup.consumer == "webhook") {
    consumer = std::make_unique<WebhookConsumer>(actions, *http::ParseHttpUrl(config.webhook.url),
                                                 config.webhook.secret,
                                                 milliseconds(config.webhook.timeout_ms));
  } else {
    consumer = std::make_unique<NoopConsumer>(actions);
  }

  ClaimLoop loop(setup, *consumer, actions, database, metrics, clock, io);
  pg::NotificationListener listener(
      config.database, setup.instance_id, "redrive_outbox_" + setup.consumer,
      {.wake = [&io, &loop] { net::post(io, [&loop] { loop.Wake(); }); },
       .connected =
           [](bool up, const std::string& error) {
             if (up) {
               log::Info("listening for outbox notifications");
             } else {
               log::Warn("notification connection lost, reconnecting", {{"error", error}});
             }
           }});

  loop.OnListeningChange([&listener](bool listening) { listener.SetListening(listening); });

  net::signal_set signals(io, SIGTERM, SIGINT);
  net::co_spawn(io, Heartbeat(health), net::detached);
  net::co_spawn(io, loop.Run(), net::detached);
  net::co_spawn(io, DrainOnSignal(signals, loop, health, database, setup, io), net::detached);

  log::Info("worker started", {{"consumer", setup.consumer},
                               {"instance_id", setup.instance_id},
                               {"admin_port", static_cast<int>(admin.port())},
                               {"concurrency", config.worker.concurrency}});
  io.run();
  // The pool's last completions post to io: finish them before anything is destroyed.
  database.Join();
  admin.Stop();
  log::Info("worker stopped", {{"consumer", setup.consumer}});
  return 0;
}

}  // namespace redrive::workers
