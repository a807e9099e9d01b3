#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/config/config.hpp"
#include "core/config/keys.hpp"

namespace redrive::config {
namespace {

std::vector<std::string> DocLines() {
  std::ifstream file(std::string(REDRIVE_SOURCE_DIR) + "/docs/configuration.md");
  REQUIRE_MESSAGE(file.good(), "docs/configuration.md is missing");
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  return lines;
}

// "`value`" as the docs write a default; "" for an empty string.
std::string DocDefault(const Key& key) {
  const std::string value = FormatValue(key, Config{});
  return "`" + (value.empty() ? std::string("\"\"") : value) + "`";
}

TEST_CASE(
    "docs/configuration.md lists every config key with its environment variable and default") {
  const std::vector<std::string> lines = DocLines();
  for (const Key& key : Keys()) {
    CAPTURE(key.Path());
    const std::string cell = "| `" + key.Path() + "` |";
    const auto row = std::find_if(lines.begin(), lines.end(),
                                  [&](const std::string& line) { return line.starts_with(cell); });
    REQUIRE_MESSAGE(row != lines.end(), "no table row starts with " << cell);
    CHECK(row->find("`" + key.EnvVar() + "`") != std::string::npos);
    CHECK_MESSAGE(row->find("| " + DocDefault(key) + " |") != std::string::npos,
                  "the default column should read " << DocDefault(key));
  }
}

TEST_CASE("docs/configuration.md documents no config key that does not exist") {
  for (const std::string& line : DocLines()) {
    if (!line.starts_with("| `")) continue;
    const std::string path = line.substr(3, line.find('`', 3) - 3);
    if (path.find('.') == std::string::npos) continue;  // not a key row
    CHECK_MESSAGE(FindKey(path) != nullptr, "documented but unknown: " << path);
  }
}

}  // namespace
}  // namespace redrive::config
