#include "core/domain/ids.hpp"

#include <cstddef>

namespace redrive::domain {
namespace {

constexpr std::size_t kUuidLength = 36;

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Locale-independent: std::tolower depends on the global locale, a key must not.
char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

bool IsUuid(std::string_view text) {
  if (text.size() != kUuidLength) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool hyphen_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (hyphen_position ? text[i] != '-' : !IsHexDigit(text[i])) return false;
  }
  return true;
}

std::string IdempotencyKeyForOrder(std::string_view order_id) {
  std::string key = "order-";
  key.reserve(key.size() + order_id.size());
  for (const char c : order_id) key.push_back(AsciiLower(c));
  return key;
}

}  // namespace redrive::domain
