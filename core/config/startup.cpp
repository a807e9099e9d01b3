// The only I/O in core/config: the file, the process environment, stderr and exit().
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/config/load.hpp"

namespace redrive::config {
namespace {

// The file's text, or why it could not be read.
std::string ReadFile(const std::string& path, std::optional<std::string>& problem) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    problem = "cannot read the configuration file: it is a directory";
    return "";
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    problem = std::string("cannot read the configuration file: ") + std::strerror(errno);
    return "";
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    problem = std::string("cannot read the configuration file: ") + std::strerror(errno);
    return "";
  }
  return text.str();
}

}  // namespace

Environment ProcessEnvironment() {
  Environment env;
  for (char** entry = ::environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    if (!text.starts_with("REDRIVE_")) continue;
    const auto equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    env.emplace(text.substr(0, equals), text.substr(equals + 1));
  }
  return env;
}

Config LoadOrExit(const std::optional<std::string>& path) {
  std::vector<ConfigError> errors;
  std::string text;
  if (path) {
    std::optional<std::string> problem;
    text = ReadFile(*path, problem);
    if (problem) errors.push_back({*path, std::move(*problem)});
  }
  // Still parse the environment when the file is unreadable, so one run shows every error.
  LoadResult result = LoadNamed(path.value_or("config file"), text, ProcessEnvironment());
  errors.insert(errors.end(), result.errors.begin(), result.errors.end());
  if (errors.empty()) return std::move(result.config);
  for (const ConfigError& error : errors) {
    std::cerr << "redrive: invalid configuration: " << error.key << ": " << error.problem << "\n";
  }
  std::cerr.flush();
  std::exit(2);
}

}  // namespace redrive::config
