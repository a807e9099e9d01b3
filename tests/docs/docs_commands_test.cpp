// docs: every shell command shown in README.md and docs/*.md is run by a test or by the demo,
// so the documentation cannot drift from the binaries.
//
// The convention the docs follow: commands stand in fenced blocks marked ```sh, one command
// per line, an optional `$ ` prompt, `\` at the end of a line to continue it. Other fences
// (```text, ```yaml, ```sql, ...) are not commands; ```bash, ```shell, ```console and the like
// are refused, so a command cannot escape this test under another name.
//
// Each command either
//  - runs here for real, in a sandbox folder (with `build` pointing at this build tree),
//    against a fresh migrated database (REDRIVE_DATABASE_URL), with the build's bin folder
//    first on PATH and a gateway-sim as gateway.url. Placeholders such as <order-id> are
//    replaced by rows made for the command. It must exit 0, or with the status its trailing
//    comment names (`# exits 1`). A long-running process (a worker, a controller without
//    --once, gateway-sim) must still run after 3 s and exit 0 on SIGTERM; or
//  - starts with a prefix listed in tests/docs/covered-elsewhere.txt, next to the ctest test
//    that runs it (or `demo`: a test that runs redrive-demo). Those tests must exist.
// Anything else fails, with the command's file and line.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/http_client.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redrive_processes.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kCoveredElsewhere = "tests/docs/covered-elsewhere.txt";

// ---------------------------------------------------------------------------------------
// Markdown: fenced blocks, and the commands in the ```sh ones.

std::string Trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

// Runs of blanks become one space, so a prefix matches however the docs align a command.
std::string Collapse(const std::string& text) {
  std::string collapsed;
  bool blank = false;
  for (const char c : Trim(text)) {
    if (c == ' ' || c == '\t') {
      blank = true;
      continue;
    }
    if (blank) collapsed += ' ';
    blank = false;
    collapsed += c;
  }
  return collapsed;
}

struct Fence {
  std::string language;  // the info string's first word, lower-case ("" for a bare fence)
  int first_line = 0;    // line number of the fence's first content line
  std::vector<std::string> lines;
};

std::vector<Fence> Fences(const std::string& markdown) {
  std::vector<Fence> fences;
  std::optional<Fence> open;
  std::string marker;  // the opening run of ` or ~; the closing run must be at least as long
  std::istringstream in(markdown);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string trimmed = Trim(line);
    if (!open) {
      if (trimmed.rfind("```", 0) != 0 && trimmed.rfind("~~~", 0) != 0) continue;
      const auto run = trimmed.find_first_not_of(trimmed[0]);
      marker = trimmed.substr(0, run);
      std::istringstream info(run == std::string::npos ? "" : trimmed.substr(run));
      std::string language;
      info >> language;
      std::transform(language.begin(), language.end(), language.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      open = Fence{.language = language, .first_line = number + 1, .lines = {}};
      continue;
    }
    if (trimmed.size() >= marker.size() &&
        trimmed.find_first_not_of(marker[0]) == std::string::npos) {
      fences.push_back(std::move(*open));
      open.reset();
      continue;
    }
    open->lines.push_back(line);
  }
  if (open) fences.push_back(std::move(*open));  // unterminated: it runs to the end
  return fences;
}

struct DocCommand {
  std::string source;  // "docs/schema.md:8"
  std::string text;    // prompt removed, continuation lines joined, trailing comment kept
};

struct MarkdownScan {
  std::vector<DocCommand> commands;
  // Files the docs show in full: a ```yaml block whose first line is `# NAME.yaml...` is
  // written to the sandbox as NAME.yaml, so a documented `--config NAME.yaml` runs with it.
  std::vector<std::pair<std::string, std::string>> files;
  std::vector<std::string> problems;
};

const std::set<std::string> kShellLanguagesRefused = {
    "bash", "shell", "console", "zsh", "shell-session", "shellsession", "terminal"};

MarkdownScan ScanMarkdown(const std::string& name, const std::string& markdown) {
  MarkdownScan scan;
  static const std::regex kFileHeader(R"(^#\s*([A-Za-z0-9_.-]+\.ya?ml)\b.*)");
  for (const Fence& fence : Fences(markdown)) {
    if (kShellLanguagesRefused.count(fence.language) != 0) {
      scan.problems.push_back(name + ":" + std::to_string(fence.first_line - 1) + ": a ```" +
                              fence.language +
                              " block: write commands in ```sh blocks (this test runs them) "
                              "and output in ```text blocks");
      continue;
    }
    if ((fence.language == "yaml" || fence.language == "yml") && !fence.lines.empty()) {
      std::smatch match;
      const std::string header = Trim(fence.lines.front());
      if (std::regex_match(header, match, kFileHeader)) {
        std::string content;
        for (const auto& line : fence.lines) content += line + "\n";
        scan.files.emplace_back(match[1].str(), content);
      }
      continue;
    }
    if (fence.language != "sh") continue;
    for (std::size_t i = 0; i < fence.lines.size(); ++i) {
      std::string text = Trim(fence.lines[i]);
      if (text.empty() || text[0] == '#') continue;
      if (text == "$") continue;
      if (text.rfind("$ ", 0) == 0) text = Trim(text.substr(2));
      const int first = fence.first_line + static_cast<int>(i);
      while (!text.empty() && text.back() == '\\' && i + 1 < fence.lines.size()) {
        text.pop_back();
        text = Trim(text) + " " + Trim(fence.lines[++i]);
      }
      scan.commands.push_back({.source = name + ":" + std::to_string(first), .text = text});
    }
  }
  return scan;
}

// ---------------------------------------------------------------------------------------
// Just enough of the shell's grammar to know which programs a line runs.

struct ShellLine {
  std::string code;     // the line without its trailing comment
  std::string comment;  // the trailing comment's text, "" when none
  // The words of each simple command (split at |, ||, &&, ; and &), quotes removed.
  std::vector<std::vector<std::string>> segments;
};

ShellLine ParseShell(const std::string& text) {
  ShellLine parsed;
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  const auto end_word = [&] {
    if (in_word) words.push_back(word);
    word.clear();
    in_word = false;
  };
  const auto end_segment = [&] {
    end_word();
    if (!words.empty()) parsed.segments.push_back(words);
    words.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\'') {
      in_word = true;
      auto close = text.find('\'', i + 1);
      if (close == std::string::npos) close = text.size();
      word += text.substr(i + 1, close - i - 1);
      i = close;
    } else if (c == '"') {
      in_word = true;
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size() &&
            std::string_view("\"\\$`").find(text[i + 1]) != std::string_view::npos) {
          ++i;
        }
        word += text[i];
      }
    } else if (c == '\\' && i + 1 < text.size()) {
      in_word = true;
      word += text[++i];
    } else if (c == '#' && !in_word) {
      parsed.code = Trim(text.substr(0, i));
      parsed.comment = Trim(text.substr(i + 1));
      end_segment();
      return parsed;
    } else if (c == ' ' || c == '\t') {
      end_word();
    } else if (c == '|' || c == '&' || c == ';') {
      end_segment();
      if (c != ';' && i + 1 < text.size() && text[i + 1] == c) ++i;
    } else {
      in_word = true;
      word += c;
    }
  }
  parsed.code = Trim(text);
  end_segment();
  return parsed;
}

bool IsAssignment(const std::string& word) {
  const auto equals = word.find('=');
  if (equals == std::string::npos || equals == 0) return false;
  if (std::isdigit(static_cast<unsigned char>(word[0])) != 0) return false;
  return std::all_of(word.begin(), word.begin() + static_cast<std::ptrdiff_t>(equals),
                     [](unsigned char c) { return std::isalnum(c) != 0 || c == '_'; });
}

// The index of the program word in a simple command (after VAR=value words), or npos.
std::size_t ProgramIndex(const std::vector<std::string>& words) {
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (!IsAssignment(words[i])) return i;
  }
  return std::string::npos;
}

// What may run in the sandbox: this build's binaries (by name, found on PATH, or as
// build/bin/NAME) and psql. Everything else (make, helm, kubectl, docker, ctest, cd ...) is
// run by another test, and covered-elsewhere.txt must say which.
const std::set<std::string> kRedriveBinaries = {"redrivectl", "redrive-worker",
                                                "redrive-controller", "gateway-sim"};
const std::set<std::string> kLongRunning = {"redrive-worker", "redrive-controller", "gateway-sim"};

std::optional<std::string> SandboxProgram(const std::string& word) {
  std::string name = word;
  if (name.rfind("build/bin/", 0) == 0) name = name.substr(10);
  if (kRedriveBinaries.count(name) != 0) return name;
  if (word == "psql") return word;
  return std::nullopt;
}

// Placeholders the sandbox fills in, each with a real value made for the command.
const std::map<std::string, std::string> kPlaceholders = {
    {"<database-url>", "the sandbox database's URL"},
    {"<order-id>", "an order placed with place_order() (state CREATED)"},
    {"<dead-letter-id>", "an open dead letter of the payment consumer (malformed_payload)"},
};

std::vector<std::string> PlaceholdersIn(const std::string& text) {
  static const std::regex kPlaceholder("<[a-z][a-z0-9-]*>");
  std::vector<std::string> found;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kPlaceholder);
       it != std::sregex_iterator(); ++it) {
    found.push_back(it->str());
  }
  return found;
}

// ---------------------------------------------------------------------------------------
// covered-elsewhere.txt: `<command prefix> → <ctest test name or "demo">` per line.

struct Coverage {
  std::string prefix;  // collapsed
  std::string target;  // a ctest test name, or "demo"
  int line = 0;
};

struct CoverageList {
  std::vector<Coverage> entries;
  std::vector<std::string> problems;
};

CoverageList ParseCoverage(const std::string& text) {
  CoverageList list;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string trimmed = Trim(line);
    if (trimmed.empty() || trimmed[0] == '#') continue;
    std::size_t arrow = trimmed.find("→");
    std::size_t arrow_length = std::string("→").size();
    if (arrow == std::string::npos) {
      arrow = trimmed.find(" -> ");
      arrow_length = 4;
    }
    const std::string where = std::string(kCoveredElsewhere) + ":" + std::to_string(number);
    if (arrow == std::string::npos) {
      list.problems.push_back(where + ": expected `<command prefix> → <test name or demo>`");
      continue;
    }
    Coverage entry{.prefix = Collapse(trimmed.substr(0, arrow)),
                   .target = Trim(trimmed.substr(arrow + arrow_length)),
                   .line = number};
    if (entry.prefix.empty() || entry.target.empty()) {
      list.problems.push_back(where + ": a command prefix and a test name are both needed");
      continue;
    }
    list.entries.push_back(entry);
  }
  return list;
}

bool Matches(const std::string& code, const std::string& prefix) {
  return code == prefix || code.rfind(prefix + " ", 0) == 0;
}

// ---------------------------------------------------------------------------------------
// What to do with one command.

enum class Plan {
  kRun,             // run to completion; compare the exit status
  kRunUntilSignal,  // a long-running process: must stay up, then exit 0 on SIGTERM
  kCovered,         // covered-elsewhere.txt names the test that runs it
  kProblem,         // neither: the test fails
};

struct Decision {
  Plan plan = Plan::kProblem;
  std::string detail;  // kCovered: the test; kProblem: why
  int expected_status = 0;
};

Decision Decide(const DocCommand& command, const std::vector<Coverage>& coverage) {
  const ShellLine shell = ParseShell(command.text);
  const std::string code = Collapse(shell.code);
  for (const Coverage& entry : coverage) {
    if (Matches(code, entry.prefix)) {
      return {.plan = Plan::kCovered, .detail = entry.target, .expected_status = 0};
    }
  }
  Decision problem{.plan = Plan::kProblem, .detail = "", .expected_status = 0};
  if (shell.segments.empty()) {
    problem.detail = "an empty command";
    return problem;
  }
  bool long_running = false;
  for (const auto& words : shell.segments) {
    const auto index = ProgramIndex(words);
    const std::string program = index == std::string::npos ? "" : words[index];
    const auto name = SandboxProgram(program);
    if (!name) {
      problem.detail = "`" + program + "` cannot run in the test sandbox, and no line of " +
                       kCoveredElsewhere +
                       " covers this command: run it in a test and list it there as "
                       "`<command prefix> → <test name>`";
      return problem;
    }
    if (kLongRunning.count(*name) != 0) {
      const bool ends_by_itself =
          std::any_of(words.begin() + static_cast<std::ptrdiff_t>(index), words.end(),
                      [](const std::string& word) {
                        return word == "--once" || word == "--help" || word == "-h";
                      });
      long_running = long_running || !ends_by_itself;
    }
  }
  if (long_running && shell.segments.size() != 1) {
    problem.detail = "a long-running process must stand alone on its line";
    return problem;
  }
  std::vector<std::string> unknown;
  for (const auto& placeholder : PlaceholdersIn(command.text)) {
    if (kPlaceholders.count(placeholder) == 0) unknown.push_back(placeholder);
  }
  if (!unknown.empty()) {
    std::string known;
    for (const auto& [name, meaning] : kPlaceholders) known += " " + name;
    problem.detail =
        "unknown placeholder " + unknown.front() + " (the sandbox fills in:" + known + ")";
    return problem;
  }
  Decision run{.plan = long_running ? Plan::kRunUntilSignal : Plan::kRun,
               .detail = "",
               .expected_status = 0};
  static const std::regex kExits(R"(\bexits?\s+(?:with\s+)?(?:status\s+)?(\d+))");
  std::smatch match;
  if (std::regex_search(shell.comment, match, kExits)) run.expected_status = std::stoi(match[1]);
  return run;
}

// ---------------------------------------------------------------------------------------
// The tests that exist: TEST_CASE names (the ctest names doctest_discover_tests gives them)
// and add_test(NAME ...) names.

std::set<std::string> TestCaseNames(const std::string& source) {
  std::set<std::string> names;
  const std::string macro = "TEST_CASE(";
  for (auto at = source.find(macro); at != std::string::npos; at = source.find(macro, at + 1)) {
    std::size_t i = at + macro.size();
    std::string name;
    bool any = false;
    while (true) {
      while (i < source.size() && std::isspace(static_cast<unsigned char>(source[i])) != 0) ++i;
      if (i >= source.size() || source[i] != '"') break;
      any = true;
      for (++i; i < source.size() && source[i] != '"'; ++i) {
        if (source[i] == '\\' && i + 1 < source.size()) ++i;
        name += source[i];
      }
      ++i;
    }
    if (any) names.insert(name);
  }
  return names;
}

std::set<std::string> AddTestNames(const std::string& cmake) {
  std::set<std::string> names;
  static const std::regex kAddTest(R"(add_test\s*\(\s*NAME\s+([^\s)]+))");
  for (auto it = std::sregex_iterator(cmake.begin(), cmake.end(), kAddTest);
       it != std::sregex_iterator(); ++it) {
    names.insert((*it)[1].str());
  }
  return names;
}

struct KnownTests {
  std::set<std::string> names;
  std::set<std::string> demo;  // test cases in a source that runs redrive-demo
};

KnownTests FindTests(const fs::path& tests_dir) {
  KnownTests known;
  for (const auto& entry : fs::recursive_directory_iterator(tests_dir)) {
    if (!entry.is_regular_file()) continue;
    const auto path = entry.path();
    const std::string extension = path.extension().string();
    const std::string text = redrive::testing::ReadFile(path.string());
    if (extension == ".cpp" || extension == ".hpp") {
      const auto cases = TestCaseNames(text);
      known.names.insert(cases.begin(), cases.end());
      if (text.find("\"redrive-demo\"") != std::string::npos) {
        known.demo.insert(cases.begin(), cases.end());
      }
    } else if (path.filename() == "CMakeLists.txt" || extension == ".cmake") {
      const auto added = AddTestNames(text);
      known.names.insert(added.begin(), added.end());
    }
  }
  return known;
}

// Every entry must name a test that exists and cover at least one documented command.
std::vector<std::string> AuditCoverage(const std::vector<Coverage>& entries,
                                       const std::vector<DocCommand>& commands,
                                       const KnownTests& known) {
  std::vector<std::string> problems;
  for (const Coverage& entry : entries) {
    const std::string where = std::string(kCoveredElsewhere) + ":" + std::to_string(entry.line);
    if (entry.target == "demo") {
      if (known.demo.empty()) {
        problems.push_back(where + ": `demo`, but no test runs redrive-demo");
      }
    } else if (known.names.count(entry.target) == 0) {
      problems.push_back(where + ": no test is named \"" + entry.target +
                         "\" (neither a TEST_CASE nor an add_test under tests/)");
    }
    const bool used = std::any_of(commands.begin(), commands.end(), [&](const DocCommand& c) {
      return Matches(Collapse(ParseShell(c.text).code), entry.prefix);
    });
    if (!used) {
      problems.push_back(where + ": no documented command starts with `" + entry.prefix +
                         "`: remove the line");
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------
// Running a command for real.

std::string ShellQuote(const std::string& word) {
  std::string quoted = "'";
  for (const char c : word) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

void ReplaceAll(std::string& text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

std::string SeedDeadLetter(const std::string& database_url) {
  return redrive::testing::QueryValue(database_url, R"sql(
WITH dead AS (
  INSERT INTO outbox (event_id, consumer, event_type, payload, attempts, dead_at, last_error)
  VALUES (gen_random_uuid(), 'payment', 'OrderCreated', '{"order_id": "not-a-uuid"}', 1, now(),
          'order_id is missing or not a UUID')
  RETURNING id, event_id, consumer, event_type, payload, attempts, last_error
)
INSERT INTO dead_letter_events
  (outbox_id, event_id, consumer, event_type, payload, reason, last_error, attempts)
SELECT id, event_id, consumer, event_type, payload, 'malformed_payload', last_error, attempts
FROM dead
RETURNING id
)sql");
}

std::string FillPlaceholders(std::string text, const std::string& database_url) {
  if (text.find("<order-id>") != std::string::npos) {
    ReplaceAll(text, "<order-id>", redrive::testing::PlaceOrder(database_url, 2599));
  }
  if (text.find("<dead-letter-id>") != std::string::npos) {
    ReplaceAll(text, "<dead-letter-id>", SeedDeadLetter(database_url));
  }
  ReplaceAll(text, "<database-url>", database_url);
  return text;
}

// A folder to run the documented commands in: `build` is this build tree, and the files
// the docs show in full are there.
class Sandbox {
 public:
  explicit Sandbox(const std::vector<std::pair<std::string, std::string>>& files)
      : dir_(redrive::testing::MakeTempDir("redrive-docs")) {
    const fs::path bin_dir = fs::path(REDRIVE_BIN_DIR).lexically_normal();
    const fs::path build_dir =
        (bin_dir.has_filename() ? bin_dir : bin_dir.parent_path()).parent_path();
    fs::create_directory_symlink(build_dir, fs::path(dir_) / "build");
    for (const auto& [name, content] : files) std::ofstream(fs::path(dir_) / name) << content;
  }
  ~Sandbox() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

struct RunReport {
  bool passed = false;
  std::string summary;  // one line: how it ended
  std::string detail;   // with the output, for a failure
};

RunReport RunForReal(const DocCommand& command, const Decision& decision, const Sandbox& sandbox,
                     const std::string& gateway_url) {
  const redrive::testing::MigratedDatabase database;
  const char* path = std::getenv("PATH");
  std::map<std::string, std::string> env = {
      {"PATH", std::string(REDRIVE_BIN_DIR) + ":" + (path != nullptr ? path : "/usr/bin:/bin")},
      {"REDRIVE_DATABASE_URL", database.Url()},
      // Port 0: tests run in parallel, and the documented default port may be taken.
      {"REDRIVE_ADMIN_LISTEN", "127.0.0.1:0"},
      {"REDRIVE_GATEWAY_URL", gateway_url},
  };
  const std::string text = FillPlaceholders(command.text, database.Url());
  const std::string cd = "cd " + ShellQuote(sandbox.dir()) + " && ";

  if (decision.plan == Plan::kRun) {
    const auto result =
        redrive::testing::RunCommand({"/bin/sh", "-c", cd + text}, env, std::chrono::seconds(120));
    const std::string ended = "exit " + std::to_string(result.exit_code) + " (expected " +
                              std::to_string(decision.expected_status) + ")";
    return {.passed = result.exit_code == decision.expected_status,
            .summary = ended,
            .detail = "ran `" + text + "`: " + ended + "\n" + result.output};
  }

  // Long-running: exec it (through env, for VAR=value words) so its pid is the child's.
  const ShellLine shell = ParseShell(text);
  const auto& words = shell.segments.front();
  std::string script = cd + "exec env";
  for (const auto& word : words) script += " " + ShellQuote(word);
  // A worker or a controller must also become ready: its database is reachable.
  const bool has_admin = SandboxProgram(words[ProgramIndex(words)]) != "gateway-sim";
  const int admin_port = has_admin ? redrive::testing::FreeLoopbackPort() : 0;
  if (has_admin) env["REDRIVE_ADMIN_LISTEN"] = "127.0.0.1:" + std::to_string(admin_port);
  const std::string log = sandbox.dir() + "/long-running.log";
  redrive::testing::ChildProcess child({"/bin/sh", "-c", script},
                                       {.env = env, .stdout_path = log, .stderr_path = log});
  bool ready = false;
  if (has_admin) {
    redrive::testing::WaitUntil(
        [&] {
          ready = redrive::testing::HttpGet(admin_port, "/readyz").status == 200;
          return ready || !child.Running();
        },
        20s);
  } else {
    redrive::testing::SleepFor(3s);
  }
  if (!child.Running() || (has_admin && !ready)) {
    return {.passed = false,
            .summary = "",
            .detail = "`" + text + "` " +
                      (child.Running() ? std::string("did not become ready (/readyz) within 20 s")
                                       : "exited by itself with status " +
                                             std::to_string(child.Wait(0ms).value_or(-1))) +
                      ":\n" + redrive::testing::ReadFile(log)};
  }
  child.Signal(SIGTERM);
  const auto status = child.Wait(60s);
  const std::string ended = std::string(has_admin ? "became ready" : "ran 3 s") + ", then exited " +
                            (status ? std::to_string(*status) : std::string("late")) +
                            " on SIGTERM (expected 0)";
  return {.passed = status == 0,
          .summary = ended,
          .detail = "`" + text + "` " + ended + ":\n" + redrive::testing::ReadFile(log)};
}

// ---------------------------------------------------------------------------------------
// The documents.

fs::path SourceDir() {
  return fs::path(REDRIVE_SOURCE_DIR);
}

std::vector<std::string> DocumentNames() {
  std::vector<std::string> names = {"README.md"};
  std::vector<std::string> docs;
  for (const auto& entry : fs::directory_iterator(SourceDir() / "docs")) {
    if (entry.is_regular_file() && entry.path().extension() == ".md") {
      docs.push_back("docs/" + entry.path().filename().string());
    }
  }
  std::sort(docs.begin(), docs.end());
  names.insert(names.end(), docs.begin(), docs.end());
  return names;
}

MarkdownScan ScanDocuments() {
  MarkdownScan all;
  for (const auto& name : DocumentNames()) {
    const auto scan = ScanMarkdown(name, redrive::testing::ReadFile((SourceDir() / name).string()));
    all.commands.insert(all.commands.end(), scan.commands.begin(), scan.commands.end());
    all.files.insert(all.files.end(), scan.files.begin(), scan.files.end());
    all.problems.insert(all.problems.end(), scan.problems.begin(), scan.problems.end());
  }
  return all;
}

}  // namespace

TEST_CASE("docs: the extractor reads ```sh blocks only, and a command nobody runs fails") {
  const std::string sample = R"md(# Sample

```sh
$ redrivectl status
make demo DURATION=20        # the demo test runs this
redrivectl review resolve <order-id> \
    --as PAID --reason "checked # by hand"   # exits 1: not in review
# a comment line is not a command
REDRIVE_LOG_LEVEL=debug redrive-worker --config config.yaml --consumer payment
redrive-controller --once --dry-run
helm install redrive charts/redrive
redrivectl order show <customer-id>
```

```text
$ redrivectl dlq list
```

```yaml
# config.yaml: only what differs
worker:
  concurrency: 4
```

   ```bash
   ls
   ```
)md";
  const auto scan = ScanMarkdown("sample.md", sample);
  REQUIRE(scan.commands.size() == 7);
  CHECK(scan.commands[0].source == "sample.md:4");
  CHECK(scan.commands[0].text == "redrivectl status");
  CHECK(scan.commands[2].source == "sample.md:6");
  CHECK(scan.commands[2].text ==
        "redrivectl review resolve <order-id> --as PAID --reason \"checked # by hand\"   # exits "
        "1: not in review");
  REQUIRE(scan.files.size() == 1);
  CHECK(scan.files[0].first == "config.yaml");
  CHECK(scan.files[0].second == "# config.yaml: only what differs\nworker:\n  concurrency: 4\n");
  REQUIRE(scan.problems.size() == 1);
  CHECK(scan.problems[0].find("sample.md:25: a ```bash block") == 0);

  const auto parsed = ParseShell(scan.commands[2].text);
  CHECK(parsed.comment == "exits 1: not in review");
  REQUIRE(parsed.segments.size() == 1);
  CHECK(parsed.segments[0].back() == "checked # by hand");

  const auto coverage = ParseCoverage("# what other tests run\n\nmake demo → demo\n");
  REQUIRE(coverage.problems.empty());
  REQUIRE(coverage.entries.size() == 1);

  const auto status = Decide(scan.commands[0], coverage.entries);
  CHECK(status.plan == Plan::kRun);
  CHECK(status.expected_status == 0);
  const auto demo = Decide(scan.commands[1], coverage.entries);
  CHECK(demo.plan == Plan::kCovered);
  CHECK(demo.detail == "demo");
  const auto resolve = Decide(scan.commands[2], coverage.entries);
  CHECK(resolve.plan == Plan::kRun);
  CHECK(resolve.expected_status == 1);
  CHECK(Decide(scan.commands[3], coverage.entries).plan == Plan::kRunUntilSignal);
  CHECK(Decide(scan.commands[4], coverage.entries).plan == Plan::kRun);

  // Neither runnable here nor listed: the check fails, and says how to fix it.
  const auto helm = Decide(scan.commands[5], coverage.entries);
  CHECK(helm.plan == Plan::kProblem);
  CHECK(helm.detail.find("`helm` cannot run in the test sandbox") == 0);
  CHECK(helm.detail.find("covered-elsewhere.txt") != std::string::npos);
  const auto unknown = Decide(scan.commands[6], coverage.entries);
  CHECK(unknown.plan == Plan::kProblem);
  CHECK(unknown.detail.find("unknown placeholder <customer-id>") == 0);

  // Listed, it passes.
  const auto listed =
      ParseCoverage("make demo → demo\nhelm install -> a chart test that exists\n").entries;
  CHECK(Decide(scan.commands[5], listed).plan == Plan::kCovered);
  CHECK(ParseCoverage("helm install: chart test\n").problems.size() == 1);

  // The listed tests must exist, and every line must cover a documented command.
  // (TEST_ and CASE are split so this file's own scan does not find the sample's names.)
  const std::string source =
      std::string("TEST_") + "CASE(\n    \"a chart test \"\n" + "    \"that exists\") {}\n";
  KnownTests known{.names = TestCaseNames(source), .demo = {}};
  CHECK(known.names == std::set<std::string>{"a chart test that exists"});
  CHECK(AddTestNames("add_test(NAME shared_pg_start COMMAND x)") ==
        std::set<std::string>{"shared_pg_start"});
  auto problems = AuditCoverage(listed, scan.commands, known);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("`demo`, but no test runs redrive-demo") != std::string::npos);
  known.demo = {"a demo test"};
  CHECK(AuditCoverage(listed, scan.commands, known).empty());
  const auto stale = ParseCoverage("kubectl redrive → a chart test that exists\n").entries;
  problems = AuditCoverage(stale, scan.commands, known);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("no documented command starts with `kubectl redrive`") !=
        std::string::npos);
}

TEST_CASE("docs: every line of covered-elsewhere.txt names a test that exists") {
  const auto list =
      ParseCoverage(redrive::testing::ReadFile((SourceDir() / kCoveredElsewhere).string()));
  for (const auto& problem : list.problems) FAIL_CHECK(problem);
  const auto scan = ScanDocuments();
  const auto known = FindTests(SourceDir() / "tests");
  for (const auto& problem : AuditCoverage(list.entries, scan.commands, known)) {
    FAIL_CHECK(problem);
  }
}

TEST_CASE("docs: README.md links to every page in docs/") {
  const std::string readme = redrive::testing::ReadFile((SourceDir() / "README.md").string());
  for (const auto& name : DocumentNames()) {
    if (name == "README.md") continue;
    CHECK_MESSAGE(readme.find("](" + name + ")") != std::string::npos,
                  "README.md does not link to " << name);
  }
}

TEST_CASE("docs: every command in README.md and docs/*.md runs here or in a named test") {
  const auto list =
      ParseCoverage(redrive::testing::ReadFile((SourceDir() / kCoveredElsewhere).string()));
  const auto scan = ScanDocuments();
  for (const auto& problem : scan.problems) FAIL_CHECK(problem);
  CHECK(scan.commands.size() >= 2);  // README's make demo and make test, at least

  const Sandbox sandbox(scan.files);
  const redrive::testing::GatewaySim gateway;
  int ran = 0;
  int covered = 0;
  for (const auto& command : scan.commands) {
    INFO(command.source << ": " << command.text);
    const Decision decision = Decide(command, list.entries);
    switch (decision.plan) {
      case Plan::kProblem:
        FAIL_CHECK(decision.detail);
        break;
      case Plan::kCovered:
        ++covered;
        MESSAGE(command.source << ": covered by \"" << decision.detail << "\"");
        break;
      case Plan::kRun:
      case Plan::kRunUntilSignal: {
        ++ran;
        const RunReport report = RunForReal(command, decision, sandbox, gateway.Url());
        CHECK_MESSAGE(report.passed, report.detail);
        if (report.passed) MESSAGE(command.source << ": ran, " << report.summary);
        break;
      }
    }
  }
  MESSAGE(ran << " documented commands ran for real, " << covered << " are covered elsewhere");
}
