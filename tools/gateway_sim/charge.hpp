#pragma once

#include <boost/system/result.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// The values POST /v1/charges speaks, and their validation. Pure: no I/O.
namespace redrive::gateway_sim {

// Stripe's limit; longer keys are a client bug, not something to store.
inline constexpr std::size_t kMaxIdempotencyKeyLength = 255;
inline constexpr std::size_t kMaxOrderIdLength = 255;

struct ChargeRequest {
  std::string order_id;
  std::int64_t amount_cents = 0;
  std::string currency;
  // Two requests under one key are "the same" when these parameters are equal; the raw
  // bytes may differ (whitespace, field order, unknown fields) without a 422.
  bool operator==(const ChargeRequest&) const = default;
};

enum class ChargeStatus { kSucceeded, kDeclined };
std::string_view ToString(ChargeStatus status);

// A charge the gateway executed: what it answers, and what a replay returns verbatim.
struct Charge {
  std::string id;
  ChargeStatus status = ChargeStatus::kSucceeded;
  ChargeRequest request;
};

// The error is a sentence for the client's 400 body.
boost::system::result<ChargeRequest, std::string> ParseChargeRequest(std::string_view body);
// nullopt when the key is usable; otherwise why not.
std::optional<std::string> CheckIdempotencyKey(std::string_view key);

std::string ChargeJson(const Charge& charge);
std::string ErrorJson(std::string_view code, std::string_view message);

}  // namespace redrive::gateway_sim
