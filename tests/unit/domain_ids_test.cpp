#include <doctest/doctest.h>

#include "core/domain/ids.hpp"

namespace redrive::domain {
namespace {

TEST_CASE("canonical uuids are accepted in either case") {
  CHECK(IsUuid("123e4567-e89b-12d3-a456-426614174000"));
  CHECK(IsUuid("123E4567-E89B-12D3-A456-426614174000"));
  CHECK(IsUuid("00000000-0000-0000-0000-000000000000"));
}

TEST_CASE("anything but the canonical 8-4-4-4-12 form is not a uuid") {
  CHECK_FALSE(IsUuid(""));
  CHECK_FALSE(IsUuid("123e4567e89b12d3a456426614174000"));        // no hyphens
  CHECK_FALSE(IsUuid("{123e4567-e89b-12d3-a456-426614174000}"));  // braces
  CHECK_FALSE(IsUuid(" 123e4567-e89b-12d3-a456-426614174000"));   // padding
  CHECK_FALSE(IsUuid("123e4567-e89b-12d3-a456-42661417400"));     // one digit short
  CHECK_FALSE(IsUuid("123e4567-e89b-12d3-a456-4266141740000"));   // one digit long
  CHECK_FALSE(IsUuid("123e4567-e89b-12d3-a456-42661417400g"));    // not hex
  CHECK_FALSE(IsUuid("123e4567-e89b12d3--a456-426614174000"));    // hyphen misplaced
}

TEST_CASE("the idempotency key is derived from the order id alone, whatever its case") {
  CHECK(IdempotencyKeyForOrder("123e4567-e89b-12d3-a456-426614174000") ==
        "order-123e4567-e89b-12d3-a456-426614174000");
  CHECK(IdempotencyKeyForOrder("123E4567-E89B-12D3-A456-426614174000") ==
        IdempotencyKeyForOrder("123e4567-e89b-12d3-a456-426614174000"));
}

}  // namespace
}  // namespace redrive::domain
