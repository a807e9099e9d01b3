// redrivectl dlq list|show|replay|discard: dead letters without SQL.
#include <charconv>
#include <iostream>
#include <map>
#include <set>
#include <stdexcept>

#include "cli/flags.hpp"
#include "cli/output.hpp"
#include "cli/repair_common.hpp"
#include "core/pg/ops_repair.hpp"

namespace redrive::cli::repair {

namespace {

namespace po = boost::program_options;

constexpr const char* kListUsage =
    "redrivectl dlq list [--consumer C] [--cause R] [--since T] [--limit N] [--all]";
constexpr const char* kShowUsage = "redrivectl dlq show ID";
constexpr const char* kReplayUsage =
    "redrivectl dlq replay (ID... | [--consumer C] [--cause R] [--since T]) --reason WHY "
    "[--max N] [--dry-run] [--actor NAME]";
constexpr const char* kDiscardUsage =
    "redrivectl dlq discard (ID... | [--consumer C] [--cause R] [--since T]) --reason WHY "
    "[--max N] [--dry-run] [--actor NAME]";

std::optional<std::int64_t> ParseId(const std::string& text) {
  std::int64_t id = 0;
  const auto [rest, error] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (error != std::errc() || rest != text.data() + text.size() || id <= 0) return std::nullopt;
  return id;
}

// --consumer, --cause, --since: shared by list, replay and discard.
void AddFilterOptions(po::options_description& options) {
  options.add_options()("consumer", po::value<std::string>(), "only this consumer (payment, ...)")(
      "cause", po::value<std::string>(), "only this reason code (max_attempts, ...)")(
      "since", po::value<std::string>(), "only those that failed within this long (90s, 5m, 1h)");
}

// Reads the filter flags into `filter`; false after printing the problem.
bool ReadFilter(const std::string& command, const po::variables_map& values,
                pg::DeadLetterFilter& filter) {
  if (values.count("consumer")) filter.consumer = values["consumer"].as<std::string>();
  if (values.count("cause")) filter.reason = values["cause"].as<std::string>();
  if (values.count("since")) {
    const std::string text = values["since"].as<std::string>();
    filter.failed_within_seconds = ParseDurationSeconds(text);
    if (!filter.failed_within_seconds) {
      std::cerr << command << ": --since must be a duration like 90s, 5m, 2h or 3d, got '" << text
                << "'\n";
      return false;
    }
  }
  if ((filter.consumer && filter.consumer->empty()) || (filter.reason && filter.reason->empty())) {
    std::cerr << command << ": --consumer and --cause need a value\n";
    return false;
  }
  return true;
}

nlohmann::json DeadLetterJson(const pg::DeadLetterRow& row) {
  return {{"id", row.id},
          {"outbox_id", row.outbox_id},
          {"event_id", row.event_id},
          {"consumer", row.consumer},
          {"event_type", row.event_type},
          {"order_id", Nullable(row.order_id)},
          {"reason", row.reason},
          {"last_error", Nullable(row.last_error)},
          {"attempts", row.attempts},
          {"failed_at", row.failed_at},
          {"age_seconds", row.age_seconds},
          {"status", row.status},
          {"closed_at", Nullable(row.closed_at)}};
}

// ---- list --------------------------------------------------------------------------------

int RunList(const Context& context) {
  const std::string command = "redrivectl dlq list";
  po::options_description options("dlq list: open dead letters, newest first");
  AddFilterOptions(options);
  options.add_options()("limit", po::value<int>()->default_value(100), "show at most N")(
      "all", po::bool_switch(), "include replayed and discarded ones");
  const auto flags = ParseCommandFlags(kListUsage, context.args, options);
  if (!flags) return kExitUsage;
  if (flags->help_requested) return kExitOk;
  pg::DeadLetterFilter filter;
  if (!ReadFilter(command, flags->values, filter)) return kExitUsage;
  filter.limit = flags->values["limit"].as<int>();
  filter.include_closed = flags->values["all"].as<bool>();
  if (filter.limit < 1) {
    std::cerr << command << ": --limit must be at least 1\n";
    return kExitUsage;
  }

  pg::DeadLetterPage page;
  try {
    WithConnection(context, [&](pqxx::connection_base& connection) {
      page = pg::ListDeadLetters(connection, filter);
    });
  } catch (const std::exception& error) {
    return DatabaseFailure(command, error);
  }

  if (context.output == OutputFormat::kJson) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : page.rows) rows.push_back(DeadLetterJson(row));
    std::cout << nlohmann::json{{"dead_letters", rows},
                                {"total", page.total},
                                {"limit", filter.limit}}
                     .dump()
              << "\n";
    return kExitOk;
  }
  if (page.rows.empty()) {
    std::cout << (filter.include_closed ? "no dead letters" : "no open dead letters")
              << (filter.consumer || filter.reason || filter.failed_within_seconds
                      ? " match the filters\n"
                      : "\n");
    return kExitOk;
  }
  std::vector<std::string> headers = {"ID",     "CONSUMER", "EVENT TYPE", "ORDER",
                                      "REASON", "ATTEMPTS", "FAILED",     "LAST ERROR"};
  if (filter.include_closed) headers.insert(headers.begin() + 1, "STATUS");
  std::vector<std::vector<std::string>> rows;
  for (const auto& row : page.rows) {
    std::vector<std::string> cells = {std::to_string(row.id),
                                      row.consumer,
                                      row.event_type,
                                      row.order_id.value_or("-"),
                                      row.reason,
                                      std::to_string(row.attempts),
                                      HumanDuration(row.age_seconds) + " ago",
                                      Cell(row.last_error.value_or("-"))};
    if (filter.include_closed) cells.insert(cells.begin() + 1, row.status);
    rows.push_back(std::move(cells));
  }
  PrintTable(std::cout, headers, rows);
  if (page.total > static_cast<std::int64_t>(page.rows.size())) {
    std::cout << "\nshowing " << page.rows.size() << " of " << page.total
              << " (raise --limit to see more)\n";
  }
  return kExitOk;
}

// ---- show --------------------------------------------------------------------------------

void PrintField(const std::string& name, const std::string& value) {
  constexpr std::size_t kWidth = 14;
  std::cout << name << std::string(name.size() < kWidth ? kWidth - name.size() : 1, ' ') << value
            << "\n";
}

int RunShow(const Context& context) {
  const std::string command = "redrivectl dlq show";
  po::options_description options("dlq show: one dead letter, its payload and its event now");
  options.add_options()("id", po::value<std::string>(), "the dead letter's id");
  po::positional_options_description positional;
  positional.add("id", 1);
  const auto flags = ParseCommandFlags(kShowUsage, context.args, options, positional);
  if (!flags) return kExitUsage;
  if (flags->help_requested) return kExitOk;
  if (!flags->values.count("id")) {
    std::cerr << command << ": which dead letter? usage: " << kShowUsage << "\n";
    return kExitUsage;
  }
  const auto id = ParseId(flags->values["id"].as<std::string>());
  if (!id) {
    std::cerr << command << ": ID must be a positive integer (the ID column of `dlq list`), got '"
              << flags->values["id"].as<std::string>() << "'\n";
    return kExitUsage;
  }

  std::optional<pg::DeadLetterDetail> detail;
  try {
    WithConnection(context, [&](pqxx::connection_base& connection) {
      detail = pg::ShowDeadLetter(connection, *id);
    });
  } catch (const std::exception& error) {
    return DatabaseFailure(command, error);
  }
  if (!detail) {
    std::cerr << command << ": no dead letter with id " << *id << "\n";
    return kExitFailure;
  }

  const auto payload = nlohmann::json::parse(detail->payload_json, nullptr, false);
  const auto& dead = detail->dead_letter;
  if (context.output == OutputFormat::kJson) {
    nlohmann::json dead_json = DeadLetterJson(dead);
    dead_json["payload"] = payload.is_discarded() ? nlohmann::json(detail->payload_json) : payload;
    nlohmann::json outbox = nullptr;
    if (detail->outbox) {
      const auto& row = *detail->outbox;
      outbox = {{"id", row.id ? nlohmann::json(*row.id) : nlohmann::json(nullptr)},
                {"status", row.status},
                {"attempts", row.attempts},
                // A consumed event has no row, so no availability: null, not "".
                {"available_at", row.available_at.empty() ? nlohmann::json(nullptr)
                                                          : nlohmann::json(row.available_at)},
                {"claimed_by", Nullable(row.claimed_by)},
                {"claimed_until", Nullable(row.claimed_until)},
                {"completed_at", Nullable(row.completed_at)},
                {"dead_at", Nullable(row.dead_at)},
                {"last_error", Nullable(row.last_error)}};
    }
    nlohmann::json order = nullptr;
    if (detail->order) {
      order = {{"id", detail->order->id},
               {"state", detail->order->state},
               {"version", detail->order->version}};
    }
    std::cout
        << nlohmann::json{{"dead_letter", dead_json}, {"outbox", outbox}, {"order", order}}.dump()
        << "\n";
    return kExitOk;
  }

  PrintField("dead letter", std::to_string(dead.id));
  PrintField("status", dead.status + (dead.closed_at ? " at " + *dead.closed_at : ""));
  PrintField("event", dead.event_id + " (" + dead.event_type + " for " + dead.consumer + ")");
  if (dead.order_id) {
    PrintField("order",
               *dead.order_id + (detail->order ? " (" + detail->order->state + ", version " +
                                                     std::to_string(detail->order->version) + ")"
                                               : " (no such order)"));
  }
  PrintField("reason", dead.reason);
  PrintField("attempts", std::to_string(dead.attempts));
  PrintField("failed at", dead.failed_at + " (" + HumanDuration(dead.age_seconds) + " ago)");
  PrintField("last error", dead.last_error.value_or("-"));
  if (detail->outbox) {
    const auto& row = *detail->outbox;
    std::string state = (row.id ? "#" + std::to_string(*row.id) + " " : "") + row.status +
                        ", attempts " + std::to_string(row.attempts);
    if (row.status == "dead" && row.dead_at) state += ", dead at " + *row.dead_at;
    if (row.status == "completed" && row.completed_at) {
      state +=
          ", at " + *row.completed_at + " (the row is gone; processed_events keeps the record)";
    }
    if (row.status == "claimed" && row.claimed_by) {
      state += " by " + *row.claimed_by + " until " + row.claimed_until.value_or("?");
    }
    if (row.status == "pending") state += ", available at " + row.available_at;
    PrintField("outbox row", state);
  } else {
    PrintField("outbox row", "gone (a replay re-creates it from the dead letter)");
  }
  std::cout << "payload:\n";
  const std::string pretty = payload.is_discarded() ? detail->payload_json : payload.dump(2);
  std::size_t start = 0;
  while (start <= pretty.size()) {
    const std::size_t end = pretty.find('\n', start);
    std::cout << "  " << pretty.substr(start, end - start) << "\n";
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return kExitOk;
}

// ---- replay and discard ----------------------------------------------------------------

enum class Action { kReplay, kDiscard };

int RunAction(const Context& context, Action action) {
  const bool replay = action == Action::kReplay;
  const std::string verb = replay ? "replay" : "discard";
  const std::string command = "redrivectl dlq " + verb;
  const char* usage = replay ? kReplayUsage : kDiscardUsage;
  po::options_description options(
      replay ? "dlq replay: re-enqueue dead letters' events with attempts reset (audited)"
             : "dlq discard: close dead letters without running their events again (audited)");
  options.add_options()("id", po::value<std::vector<std::string>>(),
                        "dead-letter ids (or give them as arguments)");
  AddFilterOptions(options);
  options.add_options()("reason", po::value<std::string>(),
                        "why (required; recorded in redrive_log)")(
      "max", po::value<int>()->default_value(100), "act on at most N dead letters per run")(
      "dry-run", po::bool_switch(), "print what would be done; write nothing")(
      "actor", po::value<std::string>(), "who to record as operator:NAME (default: the OS user)");
  po::positional_options_description positional;
  positional.add("id", -1);
  const auto flags = ParseCommandFlags(usage, context.args, options, positional);
  if (!flags) return kExitUsage;
  if (flags->help_requested) return kExitOk;
  const auto& values = flags->values;

  const auto reason = RequireReason(command, values);
  if (!reason) return kExitUsage;
  pg::DeadLetterFilter filter;
  if (!ReadFilter(command, values, filter)) return kExitUsage;
  filter.limit = values["max"].as<int>();
  if (filter.limit < 1) {
    std::cerr << command << ": --max must be at least 1\n";
    return kExitUsage;
  }
  std::vector<std::int64_t> ids;
  if (values.count("id")) {
    std::set<std::int64_t> seen;
    for (const auto& text : values["id"].as<std::vector<std::string>>()) {
      const auto id = ParseId(text);
      if (!id) {
        std::cerr << command << ": dead-letter ids are positive integers, got '" << text << "'\n";
        return kExitUsage;
      }
      if (seen.insert(*id).second) ids.push_back(*id);
    }
  }
  const bool filtered = filter.consumer || filter.reason || filter.failed_within_seconds;
  if (ids.empty() == !filtered) {
    std::cerr << command
              << (ids.empty() ? ": which dead letters? give their ids, or at least one of "
                                "--consumer, --cause, --since"
                              : ": give either dead-letter ids or filters, not both")
              << "\nusage: " << usage << "\n";
    return kExitUsage;
  }
  const pg::OperatorAction operator_action{
      .actor = OperatorActor(values.count("actor")
                                 ? std::optional<std::string>(values["actor"].as<std::string>())
                                 : std::nullopt),
      .reason = *reason,
      .dry_run = values["dry-run"].as<bool>()};

  std::vector<pg::DeadLetterActionResult> results;
  std::int64_t remaining = 0;
  std::optional<std::string> failure;
  try {
    WithConnection(context, [&](pqxx::connection_base& connection) {
      if (filtered) {
        const pg::DeadLetterSelection selection = pg::SelectOpenDeadLetters(connection, filter);
        ids = selection.ids;
        remaining = selection.total - static_cast<std::int64_t>(ids.size());
      } else if (ids.size() > static_cast<std::size_t>(filter.limit)) {
        remaining = static_cast<std::int64_t>(ids.size()) - filter.limit;
        ids.resize(filter.limit);
      }
      for (const std::int64_t id : ids) {
        results.push_back(replay ? pg::ReplayDeadLetter(connection, id, operator_action)
                                 : pg::DiscardDeadLetter(connection, id, operator_action));
      }
    });
  } catch (const std::exception& error) {
    failure = error.what();  // report what was done before it, then fail
  }

  std::map<std::string, int> counts = {
      {"applied", 0}, {"dry_run", 0}, {"skipped", 0}, {"not_found", 0}};
  for (const auto& result : results) ++counts[result.outcome];

  if (context.output == OutputFormat::kJson) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& result : results) {
      rows.push_back({{"id", result.id},
                      {"event_id", Nullable(result.event_id)},
                      {"consumer", Nullable(result.consumer)},
                      {"order_id", Nullable(result.order_id)},
                      {"outcome", result.outcome},
                      {"detail", result.detail}});
    }
    std::cout << nlohmann::json{{"action", verb},
                                {"dry_run", operator_action.dry_run},
                                {"actor", operator_action.actor},
                                {"reason", operator_action.reason},
                                {"results", rows},
                                {"summary", counts},
                                {"remaining", remaining}}
                     .dump()
              << "\n";
  } else if (results.empty() && !failure) {
    std::cout << "no open dead letters match the filters: nothing to " << verb << "\n";
  } else if (!results.empty()) {
    if (operator_action.dry_run) std::cout << "dry run: nothing was written\n\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& result : results) {
      const std::string outcome = result.outcome == "dry_run" ? "would " + verb : result.outcome;
      rows.push_back({std::to_string(result.id), result.event_id.value_or("-"),
                      result.consumer.value_or("-"), result.order_id.value_or("-"), outcome,
                      result.detail});
    }
    PrintTable(std::cout, {"ID", "EVENT", "CONSUMER", "ORDER", "OUTCOME", "DETAIL"}, rows);
    std::cout << "\n";
    if (operator_action.dry_run) {
      std::cout << "would " << verb << " " << counts["dry_run"] << ", skip " << counts["skipped"];
    } else {
      std::cout << (replay ? "replayed " : "discarded ") << counts["applied"] << ", skipped "
                << counts["skipped"];
    }
    if (counts["not_found"] > 0) std::cout << ", not found " << counts["not_found"];
    std::cout << " (as " << operator_action.actor << ")\n";
  }
  if (remaining > 0 && context.output == OutputFormat::kText) {
    std::cout << remaining << " more dead letter" << (remaining == 1 ? "" : "s")
              << " match; run the command again for the next --max " << filter.limit << "\n";
  }
  if (failure) return DatabaseFailure(command, std::runtime_error(*failure));
  if (counts["not_found"] > 0) {
    std::cerr << command << ": " << counts["not_found"]
              << " of the given ids are not dead letters\n";
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

int RunDlq(const Context& context) {
  return RunSubcommand(
      context, "dlq",
      {{"list", "open dead letters, filtered by consumer, cause and age", RunList},
       {"show", "one dead letter: payload, last error, attempts, its outbox row", RunShow},
       {"replay", "re-enqueue dead letters' events (--reason required)",
        [](const Context& c) { return RunAction(c, Action::kReplay); }},
       {"discard", "close dead letters without replaying (--reason required)",
        [](const Context& c) { return RunAction(c, Action::kDiscard); }}});
}

}  // namespace redrive::cli::repair
