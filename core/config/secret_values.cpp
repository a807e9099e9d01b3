// The secret values a configuration holds, for masking them wherever they might be logged.
#include <algorithm>
#include <cctype>

#include "core/config/config.hpp"

namespace redrive::config {
namespace {

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

bool IsSecretKeyword(std::string_view keyword) {
  return keyword == "password" || keyword == "sslpassword";
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// libpq decodes %XX in URIs; a malformed escape is kept as written.
std::string PercentDecode(std::string_view text) {
  std::string decoded;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = HexValue(text[i + 1]);
      const int low = HexValue(text[i + 2]);
      if (high >= 0 && low >= 0) {
        decoded += static_cast<char>(high * 16 + low);
        i += 2;
        continue;
      }
    }
    decoded += text[i];
  }
  return decoded;
}

void AddWithDecoded(std::string_view raw, std::vector<std::string>& out) {
  if (raw.empty()) return;
  out.emplace_back(raw);
  out.push_back(PercentDecode(raw));
}

// postgresql://user:password@host/db?password=...&sslpassword=...: the userinfo ends at the
// LAST '@' (as in RedactSecrets), so an unencoded '@' in the password is still all found.
void UriSecrets(std::string_view uri, std::vector<std::string>& out) {
  const std::size_t start = uri.find("://") + 3;
  std::string_view rest = uri.substr(start);
  rest = rest.substr(0, std::min(rest.size(), rest.find_first_of(" \t\r\n")));
  const std::size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    if (const std::size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
      AddWithDecoded(userinfo.substr(colon + 1), out);
    }
  }
  const std::size_t after_userinfo = at == std::string_view::npos ? 0 : at + 1;
  const std::size_t question = rest.find('?', after_userinfo);
  if (question == std::string_view::npos) return;
  std::string_view query = rest.substr(question + 1);
  query = query.substr(0, std::min(query.size(), query.find('#')));
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (const std::size_t equals = pair.find('='); equals != std::string_view::npos) {
      if (IsSecretKeyword(PercentDecode(pair.substr(0, equals)))) {
        AddWithDecoded(pair.substr(equals + 1), out);
      }
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}

// host=db password='it''s' ...: libpq's conninfo grammar (keyword = value, the value either
// unquoted up to the next space or single-quoted with backslash escapes).
void KeyValueSecrets(std::string_view text, std::vector<std::string>& out) {
  const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    const std::size_t keyword_start = i;
    while (i < text.size() && text[i] != '=' && !is_space(text[i])) ++i;
    const std::string_view keyword = text.substr(keyword_start, i - keyword_start);
    while (i < text.size() && is_space(text[i])) ++i;
    if (i == text.size() || text[i] != '=') {
      if (i == keyword_start) ++i;  // not a pair: move on rather than loop
      continue;
    }
    ++i;
    while (i < text.size() && is_space(text[i])) ++i;
    std::string value;
    std::string_view raw;
    if (i < text.size() && text[i] == '\'') {
      const std::size_t raw_start = ++i;
      while (i < text.size() && text[i] != '\'') {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        value += text[i++];
      }
      raw = text.substr(raw_start, i - raw_start);
      if (i < text.size()) ++i;  // the closing quote
    } else {
      const std::size_t raw_start = i;
      while (i < text.size() && !is_space(text[i])) value += text[i++];
      raw = text.substr(raw_start, i - raw_start);
    }
    if (IsSecretKeyword(keyword) && !value.empty()) {
      out.push_back(value);
      out.emplace_back(raw);  // as written, backslashes and all
    }
  }
}

}  // namespace

std::vector<std::string> SecretValues(const Config& config) {
  std::vector<std::string> secrets;
  const std::string& url = config.database.url;
  if (StartsWithNoCase(url, "postgresql://") || StartsWithNoCase(url, "postgres://")) {
    UriSecrets(url, secrets);
  } else {
    KeyValueSecrets(url, secrets);
  }
  if (!config.webhook.secret.empty()) secrets.push_back(config.webhook.secret);
  std::sort(secrets.begin(), secrets.end());
  secrets.erase(std::unique(secrets.begin(), secrets.end()), secrets.end());
  return secrets;
}

}  // namespace redrive::config
