// The only I/O in core/config: the file, the process environment, stderr and exit(); and
// handing the secrets to the log, which masks them.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "core/config/load.hpp"
#include "core/runtime/log.hpp"

namespace redrive::config {
namespace {

// A ConfigMap holds at most 1 MiB; a bigger "configuration file" is a wrong path (a log, a
// device such as /dev/zero that never ends), and reading it whole would exhaust memory.
constexpr std::size_t kMaxConfigBytes = 1024 * 1024;

// The file's text, or why it could not be read. POSIX reads rather than a stream: a stream
// turns a read error (EIO, or a file like /proc/self/mem that opens but cannot be read)
// into an early end of file, and the process would start on a silently truncated config.
std::string ReadFile(const std::string& path, std::optional<std::string>& problem) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    problem = "cannot read the configuration file: it is a directory";
    return "";
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    problem = std::string("cannot read the configuration file: ") + std::strerror(errno);
    return "";
  }
  std::string text;
  char buffer[64 * 1024];
  while (true) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      problem = std::string("cannot read the configuration file: ") + std::strerror(errno);
      break;
    }
    if (got == 0) break;
    text.append(buffer, static_cast<std::size_t>(got));
    if (text.size() > kMaxConfigBytes) {
      problem =
          "cannot read the configuration file: larger than 1 MiB, the most a ConfigMap "
          "holds";
      break;
    }
  }
  ::close(fd);
  return problem ? "" : text;
}

// One error, one line: control characters in a key or a problem (a newline in an
// environment variable's name, an escaped one in a quoted YAML key) must not split it.
std::string OneLine(std::string_view text) {
  std::string line;
  line.reserve(text.size());
  for (const char c : text) {
    if (c == '\n') {
      line += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      line += '?';
    } else {
      line += c;
    }
  }
  return line;
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
  if (errors.empty()) {
    // From here on no log line can show them, whatever ends up in a message or a field.
    std::vector<std::string> secrets = SecretValues(result.config);
    if (const char* password = std::getenv("PGPASSWORD"); password != nullptr) {
      secrets.emplace_back(password);
    }
    log::SetSecrets(std::move(secrets));
    return std::move(result.config);
  }
  for (const ConfigError& error : errors) {
    std::cerr << "redrive: invalid configuration: " << OneLine(error.key) << ": "
              << OneLine(error.problem) << "\n";
  }
  std::cerr.flush();
  std::exit(2);
}

}  // namespace redrive::config
