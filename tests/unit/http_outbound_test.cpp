#include <doctest/doctest.h>

#include "core/domain/percent_encoding.hpp"
#include "core/http/http_client.hpp"
#include "core/http/signature.hpp"

using redrive::http::ParseHttpUrl;

TEST_CASE("http URLs split into host, port and base path") {
  const auto plain = ParseHttpUrl("http://gateway.internal");
  REQUIRE(plain);
  CHECK(plain->host == "gateway.internal");
  CHECK(plain->port == "80");
  CHECK(plain->base_path.empty());

  const auto full = ParseHttpUrl("http://127.0.0.1:8080/hooks/orders/");
  REQUIRE(full);
  CHECK(full->host == "127.0.0.1");
  CHECK(full->port == "8080");
  CHECK(full->base_path == "/hooks/orders");

  const auto v6 = ParseHttpUrl("http://[::1]:9000");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->port == "9000");
}

TEST_CASE("anything but a plain http URL is refused") {
  CHECK_FALSE(ParseHttpUrl("https://gateway"));
  CHECK_FALSE(ParseHttpUrl("http://"));
  CHECK_FALSE(ParseHttpUrl("http://host:port"));
  CHECK_FALSE(ParseHttpUrl("gateway:8080"));
}

TEST_CASE("the webhook signature is HMAC-SHA256 in lower-case hex (RFC 4231 test case 2)") {
  CHECK(redrive::http::WebhookSignature("Jefe", "what do ya want for nothing?") ==
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("percent-encoding keeps unreserved characters and escapes the rest") {
  CHECK(redrive::domain::PercentEncode("order-1_a.b~c") == "order-1_a.b~c");
  CHECK(redrive::domain::PercentEncode("a b&c=d/é") == "a%20b%26c%3Dd%2F%C3%A9");
}
