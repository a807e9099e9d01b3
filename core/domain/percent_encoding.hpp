#pragma once

#include <string>
#include <string_view>

namespace redrive::domain {

// RFC 3986 percent-encoding of everything but unreserved characters: safe inside a URL
// query value or a postgresql:// URI parameter.
std::string PercentEncode(std::string_view text);

}  // namespace redrive::domain
