#include "cli/flags.hpp"

#include <pwd.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <iostream>

namespace redrive::cli {

namespace po = boost::program_options;

std::optional<ParsedFlags> ParseCommandFlags(const std::string& usage,
                                             const std::vector<std::string>& args,
                                             const po::options_description& options,
                                             const po::positional_options_description& positional) {
  ParsedFlags parsed;
  po::options_description all(options);
  all.add_options()("help,h", "show this help");
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(),
              parsed.values);
    po::notify(parsed.values);
  } catch (const po::error& error) {
    std::cerr << "redrivectl: " << error.what() << "\n\nusage: " << usage << "\n" << options;
    return std::nullopt;
  }
  if (parsed.values.count("help")) {
    std::cout << "usage: " << usage << "\n" << options;
    parsed.help_requested = true;
  }
  return parsed;
}

std::string OperatorActor(const std::optional<std::string>& actor) {
  if (actor && !actor->empty()) return "operator:" + *actor;
  if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') {
    return std::string("operator:") + user;
  }
  if (const passwd* entry = ::getpwuid(::geteuid()); entry != nullptr) {
    return std::string("operator:") + entry->pw_name;
  }
  return "operator:uid-" + std::to_string(::geteuid());
}

std::optional<long long> ParseDurationSeconds(const std::string& text) {
  if (text.empty()) return std::nullopt;
  long long value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  const auto [rest, error] = std::from_chars(begin, end, value);
  if (error != std::errc() || value < 0) return std::nullopt;
  const std::string unit(rest, end);
  if (unit.empty() || unit == "s") return value;
  if (unit == "m") return value * 60;
  if (unit == "h") return value * 3600;
  if (unit == "d") return value * 86400;
  return std::nullopt;
}

}  // namespace redrive::cli
