#pragma once

#include <string>
#include <string_view>

namespace redrive::http {

// "sha256=<lower-case hex HMAC-SHA256 of body keyed with secret>": the X-Redrive-Signature
// header a webhook subscriber verifies.
std::string WebhookSignature(std::string_view secret, std::string_view body);

}  // namespace redrive::http
