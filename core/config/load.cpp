#include "core/config/load.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <type_traits>
#include <utility>

#include "core/config/keys.hpp"

namespace redrive::config {
namespace {

constexpr std::string_view kEnvPrefix = "REDRIVE_";
// Long values are cut in messages so one bad value cannot flood a terminal or a log line.
constexpr std::size_t kMaxEchoedChars = 120;

// `value` as one printable, quoted line, with any password masked.
std::string Quote(std::string_view value) {
  const std::string redacted = RedactSecrets(value);
  std::string quoted = "\"";
  for (std::size_t i = 0; i < redacted.size(); ++i) {
    if (i == kMaxEchoedChars) {
      quoted += "...";
      break;
    }
    const char c = redacted[i];
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (c == '\n') {
      quoted += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      quoted += '?';
    } else {
      quoted += c;
    }
  }
  return quoted + "\"";
}

// The tail of a message about a bad value: the value itself, unless it is a secret.
std::string Got(const Key& key, std::string_view value) {
  if (key.secret) return " (value not shown: it may hold a secret)";
  return ", got " + Quote(value);
}

std::string ToUpper(std::string_view text) {
  std::string upper(text);
  for (char& c : upper) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return upper;
}

std::string ToLower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitution});
    }
  }
  return row[b.size()];
}

// " (did you mean X?)" when one candidate is close enough to be a likely typo.
std::string Suggestion(std::string_view word, const std::vector<std::string>& candidates,
                       std::string_view prefix = "") {
  const std::string* best = nullptr;
  std::size_t best_distance = std::max<std::size_t>(1, word.size() / 3) + 1;
  for (const std::string& candidate : candidates) {
    const std::size_t distance = EditDistance(ToLower(word), ToLower(candidate));
    if (distance < best_distance) {
      best = &candidate;
      best_distance = distance;
    }
  }
  return best == nullptr ? "" : " (did you mean " + std::string(prefix) + *best + "?)";
}

std::vector<std::string> SectionNames() {
  std::vector<std::string> sections;
  for (const Key& key : Keys()) {
    if (sections.empty() || sections.back() != key.section) sections.emplace_back(key.section);
  }
  return sections;
}

std::string Join(const std::vector<std::string>& words) {
  std::string joined;
  for (const std::string& word : words) joined += (joined.empty() ? "" : ", ") + word;
  return joined;
}

// "REDRIVE_WORKER_": every variable with this prefix must name one of worker's keys.
std::string EnvPrefix(std::string_view section) {
  return std::string(kEnvPrefix) + ToUpper(section) + "_";
}

bool IsSection(std::string_view name) {
  return std::any_of(Keys().begin(), Keys().end(),
                     [name](const Key& key) { return key.section == name; });
}

std::string TypeName(const Key& key) {
  if (std::holds_alternative<Accessor<int>>(key.field)) return "an integer";
  if (std::holds_alternative<Accessor<bool>>(key.field)) return "true or false";
  return "a string";
}

std::optional<std::string> RangeProblem(const Key& key, long long value) {
  if (value < key.min) return "must be at least " + std::to_string(key.min);
  if (value > key.max) return "must be at most " + std::to_string(key.max);
  return std::nullopt;
}

std::optional<bool> ParseBool(std::string_view text) {
  const std::string lower = ToLower(text);
  if (lower == "true" || lower == "1") return true;
  if (lower == "false" || lower == "0") return false;
  return std::nullopt;
}

// Parses `text` as the key's type and stores it; integers are range-checked here because
// a value that does not fit the field cannot be stored for Validate to look at later.
std::optional<std::string> Assign(const Key& key, std::string_view text, Config& config) {
  return std::visit(
      [&](const auto& accessor) -> std::optional<std::string> {
        using T = std::remove_cvref_t<decltype(accessor.mutable_ref(config))>;
        if constexpr (std::is_same_v<T, std::string>) {
          accessor.mutable_ref(config) = std::string(text);
        } else if constexpr (std::is_same_v<T, bool>) {
          const auto value = ParseBool(text);
          if (!value) return "expected true or false" + Got(key, text);
          accessor.mutable_ref(config) = *value;
        } else {
          long long value = 0;
          const char* end = text.data() + text.size();
          const auto [stop, error] = std::from_chars(text.data(), end, value);
          if (error == std::errc::result_out_of_range && stop == end) {
            value = text.starts_with('-') ? key.min - 1 : key.max + 1;
          } else if (error != std::errc() || stop != end) {
            return "expected an integer" + Got(key, text);
          }
          // Only digits and a sign got here: safe to echo unquoted.
          if (auto problem = RangeProblem(key, value)) {
            return *problem + ", got " + std::string(text);
          }
          accessor.mutable_ref(config) = static_cast<int>(value);
        }
        return std::nullopt;
      },
      key.field);
}

// The checks of one key's value on its own. Runs on stored values, so it also serves
// configs built in code.
std::optional<std::string> ValueProblem(const Key& key, const Config& config) {
  return std::visit(
      [&](const auto& accessor) -> std::optional<std::string> {
        const auto& value = accessor.ref(config);
        using T = std::remove_cvref_t<decltype(value)>;
        if constexpr (std::is_same_v<T, std::string>) {
          if (key.check == nullptr) return std::nullopt;
          if (auto problem = key.check(value)) return *problem + Got(key, value);
        } else if constexpr (std::is_same_v<T, int>) {
          if (auto problem = RangeProblem(key, value)) {
            return *problem + ", got " + std::to_string(value);
          }
        }
        return std::nullopt;
      },
      key.field);
}

// `lower` must stay below `upper` (or equal, when allowed). The error names whichever of
// the two the operator changed from its default; when both were changed, `blame_upper`
// decides.
struct Ordering {
  std::string_view lower;
  std::string_view upper;
  bool allow_equal;
  bool blame_upper;
};

constexpr Ordering kOrderings[] = {
    // A cap below the base would make the first retry wait longer than every later one.
    {"worker.backoff_base_ms", "worker.backoff_max_ms", true, true},
    // client-go's leader election rules: the leader must give up before its lease can
    // expire, and must get more than one try at renewing before it gives up.
    {"controller.lease_renew_deadline_seconds", "controller.lease_seconds", false, false},
    {"controller.lease_retry_seconds", "controller.lease_renew_deadline_seconds", false, false},
    // Otherwise no order could ever be re-driven while its idempotency key is still valid.
    {"controller.stuck_after_seconds", "controller.key_retention_seconds", false, false},
};

int IntValue(const Key& key, const Config& config) {
  return std::get<Accessor<int>>(key.field).ref(config);
}

bool ChangedFromDefault(const Key& key, const Config& config) {
  static const Config kDefaults;
  return FormatValue(key, config) != FormatValue(key, kDefaults);
}

// Every value check and every rule between keys. `sources` maps keys whose value came from
// the environment to the variable's name; keys in `skip` already have a parse error.
std::vector<ConfigError> CheckValues(const Config& config,
                                     const std::map<const Key*, std::string>& sources,
                                     const std::set<const Key*>& skip) {
  std::vector<ConfigError> errors;
  std::set<const Key*> failed = skip;
  const auto report = [&](const Key& key, std::string problem) {
    if (const auto source = sources.find(&key); source != sources.end()) {
      problem = source->second + ": " + problem;
    }
    errors.push_back({key.Path(), std::move(problem)});
    failed.insert(&key);
  };
  for (const Key& key : Keys()) {
    if (skip.contains(&key)) continue;
    if (auto problem = ValueProblem(key, config)) report(key, std::move(*problem));
  }
  for (const Ordering& ordering : kOrderings) {
    const Key& lower = *FindKey(ordering.lower);
    const Key& upper = *FindKey(ordering.upper);
    if (failed.contains(&lower) || failed.contains(&upper)) continue;
    const int low = IntValue(lower, config);
    const int high = IntValue(upper, config);
    if (low < high || (ordering.allow_equal && low == high)) continue;
    const bool lower_changed = ChangedFromDefault(lower, config);
    const bool upper_changed = ChangedFromDefault(upper, config);
    const bool blame_upper = lower_changed == upper_changed ? ordering.blame_upper : upper_changed;
    const std::string or_equal = ordering.allow_equal ? " or equal to " : " ";
    if (blame_upper) {
      report(upper, "must be greater than" + or_equal + lower.Path() + " (" + std::to_string(low) +
                        "), got " + std::to_string(high));
    } else {
      report(lower, "must be less than" + or_equal + upper.Path() + " (" + std::to_string(high) +
                        "), got " + std::to_string(low));
    }
  }
  return errors;
}

std::string Line(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return "";
  return " (line " + std::to_string(mark.line + 1) + ")";
}

std::string KindOf(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "nothing";
  }
}

// Where each document of a YAML stream starts, from the parser's events alone.
class DocumentStarts final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  std::vector<YAML::Mark> marks;
};

// YAML::LoadAll without its endless loop: yaml-cpp 0.7 hands a token it cannot place (a
// stray ',' is enough, jbeder/yaml-cpp#1040) back as one empty document after another,
// allocating until the OOM killer comes, so `redrive-worker --config` with a file holding
// "," never even exits. Documents are counted from events first, two at most, and one that
// starts where the previous one started is a syntax error. Returns the document (none for
// an empty stream); a second entry means there is more than one.
std::vector<YAML::Node> LoadDocuments(const std::string& text) {
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  DocumentStarts starts;
  while (starts.marks.size() < 2 && parser.HandleNextDocument(starts)) {
  }
  if (starts.marks.empty()) return {};
  if (starts.marks.size() == 2) {
    if (starts.marks[0].pos == starts.marks[1].pos) {
      throw YAML::ParserException(starts.marks[1], "unexpected token");
    }
    return {YAML::Node(), YAML::Node()};
  }
  return {YAML::Load(text)};
}

class Loader {
 public:
  explicit Loader(std::string_view source_name) : source_name_(source_name) {}

  void ApplyYaml(std::string_view text) {
    try {
      // yaml-cpp 0.7 ends a quoted scalar without a word at the end of input when the input
      // ends in a line break: `secret: "abc` with more lines after it swallows them all,
      // and every section below silently falls back to its defaults. A trailing comment
      // line makes it report "illegal EOF in scalar" instead, and changes nothing else.
      ApplyYamlDocuments(LoadDocuments(std::string(text) + "\n#"));
    } catch (const YAML::Exception& error) {
      // yaml-cpp's messages describe the syntax, never quote the text, so they are safe.
      const std::string where = error.mark.is_null()
                                    ? ""
                                    : "line " + std::to_string(error.mark.line + 1) + ", column " +
                                          std::to_string(error.mark.column + 1) + ": ";
      const std::string hint =
          error.msg == YAML::ErrorMsg::EOF_IN_SCALAR ? " (a quote is never closed)" : "";
      Fail(source_name_, "is not valid YAML: " + where + error.msg + hint);
    }
  }

  void ApplyEnvironment(const Environment& env) {
    const std::vector<std::string> sections = SectionNames();
    for (const auto& variable : env) {
      // Named, not structured bindings: clang before 16 cannot capture those in a lambda,
      // and the config fuzzer (fuzz/) builds this file with clang.
      const std::string& name = variable.first;
      const std::string& value = variable.second;
      const auto section = std::find_if(sections.begin(), sections.end(), [&](const auto& s) {
        return name.starts_with(EnvPrefix(s));
      });
      // REDRIVE_FAILPOINTS, REDRIVE_TEST_PG_STATE...: other components' variables.
      if (section == sections.end()) continue;
      const auto key = std::find_if(Keys().begin(), Keys().end(),
                                    [&](const Key& k) { return k.EnvVar() == name; });
      if (key == Keys().end()) {
        // The value is not shown: a misspelled REDRIVE_WEBHOOK_SECRETS holds a secret too.
        const std::string prefix = EnvPrefix(*section);
        std::vector<std::string> known;
        for (const Key& k : Keys()) {
          if (k.section == *section) known.push_back(k.EnvVar().substr(prefix.size()));
        }
        Fail(name, "unknown setting: " + *section + " has no such key" +
                       Suggestion(std::string_view(name).substr(prefix.size()), known, prefix));
        continue;
      }
      sources_[&*key] = name;
      if (auto problem = Assign(*key, value, config_)) {
        Reject(*key, name + ": " + *problem);
      } else {
        // A good value here replaces a bad one in the file; the file's error still stands.
        rejected_.erase(&*key);
      }
    }
  }

  LoadResult Finish() && {
    std::vector<ConfigError> value_errors = CheckValues(config_, sources_, rejected_);
    errors_.insert(errors_.end(), value_errors.begin(), value_errors.end());
    return LoadResult{.config = std::move(config_), .errors = std::move(errors_)};
  }

 private:
  void ApplyYamlDocuments(const std::vector<YAML::Node>& documents) {
    if (documents.empty()) return;
    if (documents.size() > 1) {
      Fail(source_name_, "holds more than one YAML document; expected one");
      return;
    }
    const YAML::Node& root = documents.front();
    if (root.IsNull()) return;  // empty, or only comments
    if (!root.IsMap()) {
      Fail(source_name_,
           "must be a map of sections (" + Join(SectionNames()) + "), got " + KindOf(root));
      return;
    }
    std::set<std::string> seen;
    for (const auto& entry : root) {
      if (!entry.first.IsScalar()) {
        Fail(source_name_, "section names must be plain words" + Line(entry.first));
        continue;
      }
      const std::string& section = entry.first.Scalar();
      if (!seen.insert(section).second) {
        Fail(section, "appears twice" + Line(entry.first));
      } else if (!IsSection(section)) {
        Fail(section, "unknown section" + Suggestion(section, SectionNames()) + "; sections are " +
                          Join(SectionNames()) + Line(entry.first));
      } else {
        ApplyYamlSection(section, entry.second);
      }
    }
  }

  void ApplyYamlSection(const std::string& section, const YAML::Node& node) {
    if (node.IsNull()) return;  // every key commented out
    if (!node.IsMap()) {
      Fail(section, "must be a map of keys, got " + KindOf(node) + Line(node));
      return;
    }
    std::vector<std::string> known;
    for (const Key& key : Keys()) {
      if (key.section == section) known.emplace_back(key.name);
    }
    std::set<std::string> seen;
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) {
        Fail(section, "key names must be plain words" + Line(entry.first));
        continue;
      }
      const std::string path = section + "." + entry.first.Scalar();
      const Key* key = FindKey(path);
      if (!seen.insert(path).second) {
        Fail(path, "appears twice" + Line(entry.first));
      } else if (key == nullptr) {
        Fail(path, "unknown key" + Suggestion(entry.first.Scalar(), known) + Line(entry.first));
      } else if (entry.second.IsNull()) {
        Reject(*key, "has no value (remove the line to use the default)" + Line(entry.first));
      } else if (!entry.second.IsScalar()) {
        Reject(*key,
               "expected " + TypeName(*key) + ", got " + KindOf(entry.second) + Line(entry.first));
      } else if (auto problem = Assign(*key, entry.second.Scalar(), config_)) {
        Reject(*key, *problem + Line(entry.first));
      }
    }
  }

  void Fail(std::string key, std::string problem) {
    errors_.push_back({std::move(key), std::move(problem)});
  }

  // A key whose value could not be parsed: it keeps its previous value and is not checked
  // again, so one mistake gives one error.
  void Reject(const Key& key, std::string problem) {
    rejected_.insert(&key);
    Fail(key.Path(), std::move(problem));
  }

  std::string source_name_;
  Config config_;
  std::vector<ConfigError> errors_;
  std::map<const Key*, std::string> sources_;
  std::set<const Key*> rejected_;
};

}  // namespace

LoadResult LoadNamed(std::string_view source_name, std::string_view yaml_text,
                     const Environment& env) {
  Loader loader(source_name);
  loader.ApplyYaml(yaml_text);
  loader.ApplyEnvironment(env);
  return std::move(loader).Finish();
}

LoadResult Load(std::string_view yaml_text, const Environment& env) {
  return LoadNamed("config file", yaml_text, env);
}

std::vector<ConfigError> Validate(const Config& config) {
  return CheckValues(config, {}, {});
}

}  // namespace redrive::config
