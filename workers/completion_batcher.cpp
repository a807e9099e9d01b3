#include "workers/completion_batcher.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include "core/pg/outbox_store.hpp"
#include "core/runtime/log.hpp"

namespace redrive::workers {

namespace net = boost::asio;

void CompletionBatcher::Enqueue(std::int64_t outbox_id) {
  queued_.push_back(outbox_id);
  if (flushing_) return;
  flushing_ = true;
  net::co_spawn(executor_, FlushAll(), net::detached);
}

net::awaitable<void> CompletionBatcher::FlushAll() {
  while (!queued_.empty()) {
    const std::size_t take = std::min(queued_.size(), kMaxBatch);
    std::vector<std::int64_t> ids(queued_.begin(), queued_.begin() + static_cast<long>(take));
    queued_.erase(queued_.begin(), queued_.begin() + static_cast<long>(take));
    flushing_rows_ = static_cast<int>(ids.size());

    // Retried as a whole: every write is conditional, so a retry after an unseen commit
    // completes nothing twice.
    const DbWork<std::int64_t> complete = [ids](pqxx::connection_base& connection) {
      return pg::CompleteMany(connection, ids);
    };
    const DbResult<std::int64_t> result =
        co_await database_.RunWithRetry<std::int64_t>(complete, patience_);
    if (!result.ok()) {
      log::Error(
          "database unavailable, completions not recorded; the events return after "
          "their lease and are handled again",
          {{"events", static_cast<std::int64_t>(ids.size())},
           {"first_outbox_id", ids.front()},
           {"error", result.error->what()}});
    }
    flushing_rows_ = 0;
    if (on_flushed_) on_flushed_();
  }
  flushing_ = false;
}

}  // namespace redrive::workers
