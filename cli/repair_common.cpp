#include "cli/repair_common.hpp"

#include <algorithm>
#include <cctype>
#include <iostream>

#include "core/pg/thread_connection.hpp"

namespace redrive::cli::repair {

namespace {

void PrintGroupUsage(std::ostream& out, const std::string& group,
                     const std::vector<Subcommand>& subcommands) {
  out << "usage: redrivectl " << group << " SUBCOMMAND [ARGS]\n\nsubcommands:\n";
  std::size_t width = 0;
  for (const auto& sub : subcommands) width = std::max(width, sub.name.size());
  for (const auto& sub : subcommands) {
    out << "  " << sub.name << std::string(width - sub.name.size() + 2, ' ') << sub.summary << "\n";
  }
  out << "\n`redrivectl " << group << " SUBCOMMAND --help` shows its flags.\n";
}

std::string Trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const auto end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

}  // namespace

int RunSubcommand(const Context& context, const std::string& group,
                  const std::vector<Subcommand>& subcommands) {
  if (context.args.empty()) {
    std::cerr << "redrivectl " << group << ": missing subcommand\n\n";
    PrintGroupUsage(std::cerr, group, subcommands);
    return kExitUsage;
  }
  const std::string& name = context.args.front();
  if (name == "-h" || name == "--help" || name == "help") {
    PrintGroupUsage(std::cout, group, subcommands);
    return kExitOk;
  }
  const auto sub = std::find_if(subcommands.begin(), subcommands.end(),
                                [&](const Subcommand& s) { return s.name == name; });
  if (sub == subcommands.end()) {
    std::cerr << "redrivectl " << group << ": unknown subcommand '" << name << "'\n\n";
    PrintGroupUsage(std::cerr, group, subcommands);
    return kExitUsage;
  }
  Context inner = context;
  inner.args.assign(context.args.begin() + 1, context.args.end());
  return sub->run(inner);
}

std::optional<std::string> RequireReason(const std::string& command,
                                         const boost::program_options::variables_map& values) {
  std::string reason;
  if (values.count("reason")) reason = Trim(values["reason"].as<std::string>());
  if (reason.empty()) {
    std::cerr << command
              << ": --reason is required: say why (it is recorded in redrive_log with who ran "
                 "the command)\n";
    return std::nullopt;
  }
  return reason;
}

void WithConnection(const Context& context,
                    const std::function<void(pqxx::connection_base&)>& work) {
  pg::RunOnThreadConnection(context.config.database, "redrivectl", work);
}

int DatabaseFailure(const std::string& command, const std::exception& error) {
  std::string what = config::RedactSecrets(error.what());
  while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.pop_back();
  std::cerr << command << ": " << what << "\n";
  return kExitFailure;
}

std::string Cell(const std::string& text, std::size_t max) {
  std::string line;
  for (char c : text) line += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  if (line.size() <= max) return line;
  return line.substr(0, max > 3 ? max - 3 : 0) + "...";
}

bool IsUuid(const std::string& text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

}  // namespace redrive::cli::repair
