// orders stuck | show | place.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "cli/flags.hpp"
#include "cli/inspect_common.hpp"
#include "cli/output.hpp"
#include "core/decide/stuck_order.hpp"
#include "core/domain/ids.hpp"
#include "core/pg/ops_inspect.hpp"

namespace redrive::cli::inspect {

namespace {

namespace po = boost::program_options;

nlohmann::json OrNull(const std::optional<std::string>& value) {
  if (!value) return nullptr;
  return *value;
}

template <typename Number>
nlohmann::json NumberOrNull(const std::optional<Number>& value) {
  if (!value) return nullptr;
  return *value;
}

// The class the controller's metric redrive_stuck_orders{class} uses.
std::string StuckClass(const pg::StuckOrderListing& order) {
  return std::string(decide::ToString(order.charge_requested_at
                                          ? decide::StuckClass::kOutcomeUnknown
                                          : decide::StuckClass::kNeverSent));
}

// ---- orders stuck ---------------------------------------------------------------------

constexpr const char* kStuckUsage = "redrivectl orders stuck [--older-than 5m] [--limit N]";

int StuckUsageError(const std::string& problem) {
  std::cerr << "redrivectl orders stuck: " << problem << "\n\nusage: " << kStuckUsage << "\n";
  return kExitUsage;
}

// ---- order show -----------------------------------------------------------------------

struct TimelineEntry {
  double at = 0;
  std::string source;  // order, outbox, processed, dead_letter, controller, operator
  std::string what;
  std::string detail;
  std::optional<std::string> consumer;
  std::optional<std::string> event_id;
  std::optional<std::string> actor;
  std::optional<std::string> outcome;
};

TimelineEntry Entry(double at, std::string source, std::string what, std::string detail,
                    std::optional<std::string> consumer = std::nullopt,
                    std::optional<std::string> event_id = std::nullopt) {
  TimelineEntry entry;
  entry.at = at;
  entry.source = std::move(source);
  entry.what = std::move(what);
  entry.detail = std::move(detail);
  entry.consumer = std::move(consumer);
  entry.event_id = std::move(event_id);
  return entry;
}

std::string Attempts(int attempts) {
  return std::to_string(attempts) + (attempts == 1 ? " attempt" : " attempts");
}

std::string StateAt(const std::optional<std::string>& state, const std::optional<int>& version) {
  if (!state) return "-";
  return *state + (version ? " v" + std::to_string(*version) : "");
}

// Every row the database holds about the order, merged into one list by time. Rows written
// at the same instant keep the order in which they happen (the order before its event, an
// event's creation before its completion).
std::vector<TimelineEntry> BuildTimeline(const pg::OrderHistory& history) {
  const auto& order = history.order;
  std::vector<TimelineEntry> entries;
  entries.push_back(Entry(order.created_at, "order", "created",
                          std::to_string(order.amount_cents) + " " + order.currency +
                              " cents, customer " + order.customer_id));
  if (order.charge_requested_at) {
    entries.push_back(Entry(*order.charge_requested_at, "order", "charge requested",
                            "first request to the gateway, idempotency key " +
                                domain::IdempotencyKeyForOrder(order.id)));
  }
  for (const auto& event : history.outbox) {
    const std::string what_event = event.event_type + " for " + event.consumer;
    entries.push_back(Entry(event.created_at, "outbox", "queued",
                            what_event + " (outbox " + std::to_string(event.id) + ")",
                            event.consumer, event.event_id));
    const bool open = !event.dead_at;
    if (open && event.claimed_by && event.claimed_until) {
      const bool running = *event.claimed_until > history.database_now;
      entries.push_back(Entry(*event.claimed_until, "outbox",
                              running ? "claim lease ends" : "claim lease expired",
                              what_event + " claimed by " + *event.claimed_by + ", " +
                                  Attempts(event.attempts) + " so far",
                              event.consumer, event.event_id));
    } else if (open && event.attempts > 0) {
      entries.push_back(Entry(event.available_at, "outbox", "retry available",
                              what_event + " after " + Attempts(event.attempts) +
                                  (event.last_error ? ": " + *event.last_error : ""),
                              event.consumer, event.event_id));
    }
    const bool has_dead_letter = std::any_of(
        history.dead_letters.begin(), history.dead_letters.end(),
        [&](const pg::OrderDeadLetter& letter) { return letter.outbox_id == event.id; });
    if (event.dead_at && !has_dead_letter) {
      entries.push_back(Entry(*event.dead_at, "outbox", "dead",
                              what_event + " after " + Attempts(event.attempts) +
                                  (event.last_error ? ": " + *event.last_error : ""),
                              event.consumer, event.event_id));
    }
  }
  // Consumed events: their outbox rows are gone; their records say what they were.
  for (const auto& processed : history.processed_events) {
    if (!processed.event_type) {  // a record from before schema 006: no more is known
      entries.push_back(Entry(processed.processed_at, "processed", "processed",
                              "idempotency record of " + processed.consumer, processed.consumer,
                              processed.event_id));
      continue;
    }
    const std::string what_event = *processed.event_type + " for " + processed.consumer;
    if (processed.queued_at) {
      entries.push_back(Entry(*processed.queued_at, "outbox", "queued", what_event,
                              processed.consumer, processed.event_id));
    }
    entries.push_back(Entry(processed.processed_at, "outbox", "completed",
                            what_event + " after " + Attempts(processed.attempts.value_or(0)),
                            processed.consumer, processed.event_id));
  }
  for (const auto& letter : history.dead_letters) {
    const std::string id = "dead letter " + std::to_string(letter.id);
    entries.push_back(Entry(letter.failed_at, "dead_letter", "dead-lettered",
                            id + ": " + letter.event_type + " for " + letter.consumer +
                                ", reason " + letter.reason + " after " +
                                Attempts(letter.attempts) +
                                (letter.last_error ? ": " + *letter.last_error : ""),
                            letter.consumer, letter.event_id));
    if (letter.replayed_at) {
      entries.push_back(Entry(*letter.replayed_at, "dead_letter", "replayed", id + " re-enqueued",
                              letter.consumer, letter.event_id));
    }
    if (letter.discarded_at) {
      entries.push_back(Entry(*letter.discarded_at, "dead_letter", "discarded", id + " discarded",
                              letter.consumer, letter.event_id));
    }
  }
  for (const auto& audit : history.audit) {
    const bool operator_action = audit.actor.rfind("operator:", 0) == 0;
    std::string detail = audit.outcome + (audit.dry_run ? " (dry run)" : "") + ", " +
                         StateAt(audit.state_before, audit.version_before) + " -> " +
                         StateAt(audit.state_after, audit.version_after);
    if (audit.reason) detail += ": " + *audit.reason;
    detail +=
        " [" + audit.actor + (audit.epoch ? " epoch " + std::to_string(*audit.epoch) : "") + "]";
    TimelineEntry entry = Entry(audit.at, operator_action ? "operator" : "controller", audit.rule,
                                detail, std::nullopt, audit.event_id);
    entry.actor = audit.actor;
    entry.outcome = audit.outcome;
    entries.push_back(std::move(entry));
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const TimelineEntry& a, const TimelineEntry& b) { return a.at < b.at; });
  return entries;
}

nlohmann::json OrderJson(const pg::OrderHistory& history,
                         const std::vector<TimelineEntry>& timeline) {
  const auto& o = history.order;
  nlohmann::json out;
  out["database_time"] = FormatTime(history.database_now);
  out["order"] = {{"id", o.id},
                  {"customer_id", o.customer_id},
                  {"amount_cents", o.amount_cents},
                  {"currency", o.currency},
                  {"state", o.state},
                  {"version", o.version},
                  {"charge_requested_at", TimeOrNull(o.charge_requested_at)},
                  {"redrive_count", o.redrive_count},
                  {"created_at", FormatTime(o.created_at)},
                  {"updated_at", FormatTime(o.updated_at)}};
  out["timeline"] = nlohmann::json::array();
  for (const auto& entry : timeline) {
    out["timeline"].push_back({{"at", FormatTime(entry.at)},
                               {"source", entry.source},
                               {"what", entry.what},
                               {"detail", entry.detail},
                               {"consumer", OrNull(entry.consumer)},
                               {"event_id", OrNull(entry.event_id)},
                               {"actor", OrNull(entry.actor)},
                               {"outcome", OrNull(entry.outcome)}});
  }
  out["outbox"] = nlohmann::json::array();
  for (const auto& e : history.outbox) {
    out["outbox"].push_back({{"id", e.id},
                             {"event_id", e.event_id},
                             {"consumer", e.consumer},
                             {"event_type", e.event_type},
                             {"attempts", e.attempts},
                             {"created_at", FormatTime(e.created_at)},
                             {"available_at", FormatTime(e.available_at)},
                             {"claimed_by", OrNull(e.claimed_by)},
                             {"claimed_until", TimeOrNull(e.claimed_until)},
                             {"dead_at", TimeOrNull(e.dead_at)},
                             {"last_error", OrNull(e.last_error)}});
  }
  out["processed_events"] = nlohmann::json::array();
  for (const auto& p : history.processed_events) {
    out["processed_events"].push_back(
        {{"event_id", p.event_id},
         {"consumer", p.consumer},
         {"event_type", OrNull(p.event_type)},
         {"attempts", p.attempts ? nlohmann::json(*p.attempts) : nlohmann::json(nullptr)},
         {"queued_at", TimeOrNull(p.queued_at)},
         {"processed_at", FormatTime(p.processed_at)}});
  }
  out["dead_letters"] = nlohmann::json::array();
  for (const auto& d : history.dead_letters) {
    out["dead_letters"].push_back({{"id", d.id},
                                   {"outbox_id", d.outbox_id},
                                   {"event_id", d.event_id},
                                   {"consumer", d.consumer},
                                   {"event_type", d.event_type},
                                   {"reason", d.reason},
                                   {"last_error", OrNull(d.last_error)},
                                   {"attempts", d.attempts},
                                   {"failed_at", FormatTime(d.failed_at)},
                                   {"replayed_at", TimeOrNull(d.replayed_at)},
                                   {"discarded_at", TimeOrNull(d.discarded_at)}});
  }
  out["redrive_log"] = nlohmann::json::array();
  for (const auto& a : history.audit) {
    out["redrive_log"].push_back({{"id", a.id},
                                  {"at", FormatTime(a.at)},
                                  {"actor", a.actor},
                                  {"cycle_id", OrNull(a.cycle_id)},
                                  {"epoch", NumberOrNull(a.epoch)},
                                  {"rule", a.rule},
                                  {"event_id", OrNull(a.event_id)},
                                  {"state_before", OrNull(a.state_before)},
                                  {"version_before", NumberOrNull(a.version_before)},
                                  {"state_after", OrNull(a.state_after)},
                                  {"version_after", NumberOrNull(a.version_after)},
                                  {"outcome", a.outcome},
                                  {"reason", OrNull(a.reason)},
                                  {"dry_run", a.dry_run}});
  }
  return out;
}

void PrintOrder(const pg::OrderHistory& history, const std::vector<TimelineEntry>& timeline) {
  const auto& o = history.order;
  const double now = history.database_now;
  std::cout << "order " << o.id << "\n";
  PrintTable(std::cout, {"STATE", "VERSION", "AMOUNT", "CUSTOMER", "REDRIVES"},
             {{o.state, std::to_string(o.version),
               std::to_string(o.amount_cents) + " " + o.currency + " cents", o.customer_id,
               std::to_string(o.redrive_count)}});
  std::cout << "created " << FormatTime(o.created_at) << " (" << Ago(now - o.created_at)
            << "), updated " << FormatTime(o.updated_at) << " (" << Ago(now - o.updated_at)
            << "), charge requested "
            << (o.charge_requested_at ? FormatTime(*o.charge_requested_at) + " (" +
                                            Ago(now - *o.charge_requested_at) + ")"
                                      : std::string("never"))
            << "\n\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& entry : timeline) {
    rows.push_back({FormatTime(entry.at), entry.source, entry.what,
                    entry.event_id ? entry.event_id->substr(0, 8) : "-", entry.detail});
  }
  PrintTable(std::cout, {"TIME", "SOURCE", "WHAT", "EVENT", "DETAIL"}, rows);
}

// ---- orders place ---------------------------------------------------------------------

constexpr const char* kPlaceUsage =
    "redrivectl orders place --count N [--amount-range A-B] [--currency USD] [--rate R/s] "
    "[--customer C]";

int PlaceUsageError(const std::string& problem) {
  std::cerr << "redrivectl orders place: " << problem << "\n\nusage: " << kPlaceUsage << "\n";
  return kExitUsage;
}

std::optional<long long> ParsePositive(std::string_view text) {
  long long value = 0;
  const auto [rest, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || rest != text.data() + text.size() || value <= 0) {
    return std::nullopt;
  }
  return value;
}

// "A-B" (or "A" for a fixed amount), in cents, 1 <= A <= B.
std::optional<std::pair<long long, long long>> ParseAmountRange(const std::string& text) {
  const auto dash = text.find('-');
  if (dash == std::string::npos) {
    const auto amount = ParsePositive(text);
    if (!amount) return std::nullopt;
    return std::make_pair(*amount, *amount);
  }
  const auto low = ParsePositive(std::string_view(text).substr(0, dash));
  const auto high = ParsePositive(std::string_view(text).substr(dash + 1));
  if (!low || !high || *low > *high) return std::nullopt;
  return std::make_pair(*low, *high);
}

// "R/s" or "R": orders per second, > 0.
std::optional<double> ParseRate(std::string text) {
  if (text.size() > 2 && text.ends_with("/s")) text.resize(text.size() - 2);
  try {
    std::size_t used = 0;
    const double rate = std::stod(text, &used);
    if (used != text.size() || !(rate > 0) || rate > 1e6) return std::nullopt;
    return rate;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool IsCurrency(const std::string& text) {
  return text.size() == 3 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
         });
}

}  // namespace

int RunOrdersStuck(const Context& context, const std::vector<std::string>& args) {
  po::options_description options("orders stuck options");
  options.add_options()("older-than", po::value<std::string>(),
                        "untouched for at least this long (90s, 5m, 2h; default "
                        "controller.stuck_after_seconds)")(
      "limit", po::value<int>()->default_value(50), "at most this many, oldest first");
  const auto parsed = ParseCommandFlags(kStuckUsage, args, options);
  if (!parsed) return kExitUsage;
  if (parsed->help_requested) {
    std::cout << "\nPAYMENT_PENDING orders untouched for --older-than with no pending payment "
                 "event: what\nthe controller re-drives. Class never_sent: no charge request "
                 "yet; outcome_unknown:\nsent to the gateway, result unknown. Read-only.\n";
    return kExitOk;
  }
  long long older_than = context.config.controller.stuck_after_seconds;
  if (parsed->values.count("older-than")) {
    const auto seconds = ParseDurationSeconds(parsed->values["older-than"].as<std::string>());
    if (!seconds) {
      return StuckUsageError("--older-than must be a duration like 90s, 5m, 2h or 3d, got '" +
                             parsed->values["older-than"].as<std::string>() + "'");
    }
    older_than = *seconds;
  }
  const int limit = parsed->values["limit"].as<int>();
  if (limit < 1) return StuckUsageError("--limit must be at least 1");

  return WithDatabase(context, "orders stuck", [&](pqxx::connection_base& connection) {
    const pg::StuckOrderList list =
        pg::ListStuckOrders(connection, std::chrono::seconds(older_than), limit);
    if (context.output == OutputFormat::kJson) {
      nlohmann::json orders = nlohmann::json::array();
      for (const auto& o : list.orders) {
        orders.push_back(
            {{"id", o.id},
             {"age_seconds", o.stuck_seconds},
             {"updated_at", FormatTime(o.updated_at)},
             {"class", StuckClass(o)},
             {"redrive_count", o.redrive_count},
             {"charge_requested_at", TimeOrNull(o.charge_requested_at)},
             {"charge_request_age_seconds", NumberOrNull(o.charge_request_age_seconds)},
             {"version", o.version},
             {"amount_cents", o.amount_cents},
             {"currency", o.currency}});
      }
      std::cout << nlohmann::json{{"database_time", FormatTime(list.database_now)},
                                  {"older_than_seconds", older_than},
                                  {"total", list.total},
                                  {"orders", orders}}
                       .dump()
                << "\n";
      return kExitOk;
    }
    if (list.orders.empty()) {
      std::cout << "no stuck orders (PAYMENT_PENDING, untouched for "
                << HumanDuration(static_cast<double>(older_than))
                << ", no pending payment event)\n";
      return kExitOk;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& o : list.orders) {
      rows.push_back({o.id, HumanDuration(o.stuck_seconds), StuckClass(o),
                      std::to_string(o.redrive_count),
                      o.charge_request_age_seconds ? Ago(*o.charge_request_age_seconds) : "never",
                      std::to_string(o.version)});
    }
    PrintTable(std::cout, {"ORDER", "AGE", "CLASS", "REDRIVES", "CHARGE REQUESTED", "VERSION"},
               rows);
    if (list.total > static_cast<std::int64_t>(list.orders.size())) {
      std::cout << "(" << list.orders.size() << " of " << list.total
                << " stuck orders, oldest first; raise --limit for more)\n";
    }
    return kExitOk;
  });
}

int RunOrderShow(const Context& context, const std::vector<std::string>& args) {
  constexpr const char* kUsage = "redrivectl order show ID   (or: redrivectl orders show ID)";
  po::options_description options("order show options");
  po::options_description hidden;
  hidden.add_options()("id", po::value<std::string>(), "the order id");
  po::options_description all;
  all.add(options).add(hidden);
  po::positional_options_description positional;
  positional.add("id", 1);
  const auto parsed = ParseCommandFlags(kUsage, args, all, positional);
  if (!parsed) return kExitUsage;
  if (parsed->help_requested) {
    std::cout << "\nThe order, its live outbox events and the records of its consumed ones "
                 "(every consumer),\nits dead letters and every redrive_log row about it, "
                 "merged into one timeline. Read-only.\n";
    return kExitOk;
  }
  if (!parsed->values.count("id")) {
    std::cerr << "redrivectl order show: missing the order ID\n\nusage: " << kUsage << "\n";
    return kExitUsage;
  }
  const std::string id = parsed->values["id"].as<std::string>();
  if (!domain::IsUuid(id)) {
    std::cerr << "redrivectl order show: '" << id << "' is not an order id (a uuid)\n";
    return kExitUsage;
  }
  return WithDatabase(context, "order show", [&](pqxx::connection_base& connection) {
    const auto history = pg::ReadOrderHistory(connection, id);
    if (!history) {
      std::cerr << "redrivectl order show: order " << id << " not found\n";
      return kExitFailure;
    }
    const auto timeline = BuildTimeline(*history);
    if (context.output == OutputFormat::kJson) {
      std::cout << OrderJson(*history, timeline).dump() << "\n";
    } else {
      PrintOrder(*history, timeline);
    }
    return kExitOk;
  });
}

int RunOrdersPlace(const Context& context, const std::vector<std::string>& args) {
  po::options_description options("orders place options");
  options.add_options()("count", po::value<int>(), "how many orders (1..1000000)")(
      "amount-range", po::value<std::string>()->default_value("500-5000"),
      "amounts in cents, uniform in A-B (or a fixed A)")(
      "currency", po::value<std::string>()->default_value("USD"), "ISO 4217 code")(
      "rate", po::value<std::string>(), "pace at R orders per second (R/s); default: at once")(
      "customer", po::value<std::string>()->default_value("redrivectl-demo"), "customer id");
  const auto parsed = ParseCommandFlags(kPlaceUsage, args, options);
  if (!parsed) return kExitUsage;
  if (parsed->help_requested) {
    std::cout << "\nPlaces demo orders through place_order(): each order and its payment event "
                 "in one\ntransaction, exactly as any client would. It creates new work and "
                 "repairs nothing, so\nit needs no --reason and writes no redrive_log row.\n";
    return kExitOk;
  }
  if (!parsed->values.count("count")) return PlaceUsageError("--count is required");
  const int count = parsed->values["count"].as<int>();
  if (count < 1 || count > 1000000) return PlaceUsageError("--count must be in 1..1000000");
  const std::string range_text = parsed->values["amount-range"].as<std::string>();
  const auto range = ParseAmountRange(range_text);
  if (!range) {
    return PlaceUsageError("--amount-range must be A-B in cents with 1 <= A <= B, got '" +
                           range_text + "'");
  }
  std::string currency = parsed->values["currency"].as<std::string>();
  if (!IsCurrency(currency)) {
    return PlaceUsageError("--currency must be three letters, got '" + currency + "'");
  }
  std::transform(currency.begin(), currency.end(), currency.begin(),
                 [](char c) { return static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c); });
  std::optional<double> rate;
  if (parsed->values.count("rate")) {
    rate = ParseRate(parsed->values["rate"].as<std::string>());
    if (!rate) {
      return PlaceUsageError("--rate must be a positive number of orders per second (R/s), got '" +
                             parsed->values["rate"].as<std::string>() + "'");
    }
  }
  const std::string customer = parsed->values["customer"].as<std::string>();
  if (customer.empty() || customer.size() > 200) {
    return PlaceUsageError("--customer must be 1 to 200 characters");
  }

  std::mt19937_64 random{std::random_device{}()};
  std::uniform_int_distribution<long long> amount(range->first, range->second);
  // Paced: one order per transaction on a fixed schedule (a late order does not make the
  // next ones wait). Unpaced: batches of 500 per transaction.
  const int batch_size = rate ? 1 : 500;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> ids;
  ids.reserve(static_cast<std::size_t>(count));
  while (static_cast<int>(ids.size()) < count) {
    if (rate) {
      std::this_thread::sleep_until(
          start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(static_cast<double>(ids.size()) / *rate)));
    }
    std::vector<pg::DemoOrder> batch;
    for (int i = 0; i < batch_size && static_cast<int>(ids.size() + batch.size()) < count; ++i) {
      batch.push_back({.customer_id = customer, .amount_cents = amount(random)});
    }
    const int code = WithDatabase(context, "orders place", [&](pqxx::connection_base& connection) {
      const auto placed = pg::PlaceOrders(connection, batch, currency);
      ids.insert(ids.end(), placed.begin(), placed.end());
      return kExitOk;
    });
    if (code != kExitOk) {
      std::cerr << "redrivectl orders place: placed " << ids.size() << " of " << count
                << " orders before the failure\n";
      return code;
    }
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (context.output == OutputFormat::kJson) {
    std::cout << nlohmann::json{{"placed", ids.size()},
                                {"currency", currency},
                                {"amount_range_cents", {range->first, range->second}},
                                {"rate_per_second", NumberOrNull(rate)},
                                {"elapsed_seconds", elapsed},
                                {"order_ids", ids}}
                     .dump()
              << "\n";
  } else {
    std::cout << "placed " << ids.size() << " orders (" << range->first << "-" << range->second
              << " " << currency << " cents) in " << HumanDuration(elapsed) << "\n";
  }
  return kExitOk;
}

}  // namespace redrive::cli::inspect
