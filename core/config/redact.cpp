#include <array>
#include <cctype>

#include "core/config/config.hpp"

namespace redrive::config {
namespace {

constexpr std::string_view kMask = "***";

bool IsSpace(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return true;
}

// scheme://user:password@host... Works on any text: each URI ends at the next space. The
// userinfo ends at the token's LAST '@' and the password at it, so an unencoded '@', '/'
// or '?' inside the password cannot leak its tail; when a later '@' belongs to the path
// instead, more is hidden than needed, which is the safe way to be wrong.
void RedactUriPasswords(std::string& text) {
  std::size_t scheme_end = 0;
  while ((scheme_end = text.find("://", scheme_end)) != std::string::npos) {
    const std::size_t start = scheme_end + 3;
    std::size_t end = start;
    while (end < text.size() && !IsSpace(text[end])) ++end;
    const std::string_view token = std::string_view(text).substr(start, end - start);
    const std::size_t at = token.rfind('@');
    const std::size_t colon = at == std::string_view::npos ? at : token.substr(0, at).find(':');
    if (colon != std::string_view::npos) {
      const std::size_t after_password = token.size() - at;  // "@host..." keeps its length
      text.replace(start + colon + 1, at - colon - 1, kMask);
      end = start + colon + 1 + kMask.size() + after_password;
    }
    scheme_end = end;
  }
}

// password=... as a libpq keyword (space separated, value optionally single-quoted) or
// as a URI query parameter (after '?' or '&', value ends at '&').
void RedactPasswordParameters(std::string& text) {
  constexpr std::array<std::string_view, 3> kKeywords = {"password", "sslpassword", "pgpassword"};
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i > 0 && IsWordChar(text[i - 1])) continue;
    const bool in_query = i > 0 && (text[i - 1] == '?' || text[i - 1] == '&');
    std::size_t j = i;
    while (j < text.size() && IsWordChar(text[j])) ++j;
    const std::string_view word = std::string_view(text).substr(i, j - i);
    bool secret = false;
    for (std::string_view keyword : kKeywords) secret = secret || EqualsNoCase(word, keyword);
    if (!secret) continue;
    while (j < text.size() && IsSpace(text[j])) ++j;
    if (j == text.size() || text[j] != '=') continue;
    ++j;
    while (!in_query && j < text.size() && IsSpace(text[j])) ++j;
    const std::size_t value_start = j;
    if (j < text.size() && text[j] == '\'') {
      ++j;
      while (j < text.size() && text[j] != '\'') j += text[j] == '\\' ? 2 : 1;
      j = std::min(j + 1, text.size());
    } else {
      while (j < text.size() && !IsSpace(text[j]) &&
             !(in_query && (text[j] == '&' || text[j] == '#'))) {
        ++j;
      }
    }
    text.replace(value_start, j - value_start, kMask);
    i = value_start + kMask.size() - 1;
  }
}

}  // namespace

std::string RedactSecrets(std::string_view url) {
  std::string text(url);
  RedactUriPasswords(text);
  RedactPasswordParameters(text);
  return text;
}

}  // namespace redrive::config
