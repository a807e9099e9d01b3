#include <doctest/doctest.h>

#include "core/decide/claim_cursor.hpp"

using redrive::decide::ClaimCursor;
using redrive::decide::QueuePosition;

namespace {
constexpr QueuePosition kEarly{.available_at_us = 1'000, .outbox_id = 7};
constexpr QueuePosition kLate{.available_at_us = 2'000, .outbox_id = 3};
}  // namespace

TEST_CASE("claim cursor: positions order by availability, then id") {
  CHECK(kEarly < kLate);
  CHECK(QueuePosition{.available_at_us = 1'000, .outbox_id = 6} < kEarly);
}

TEST_CASE("claim cursor: the first claim starts from the head") {
  ClaimCursor cursor(16);
  CHECK_FALSE(cursor.Next().has_value());
}

TEST_CASE("claim cursor: after a full claim the next one starts after its last row") {
  ClaimCursor cursor(16);
  CHECK_FALSE(cursor.Next().has_value());
  cursor.OnClaimed(true, kEarly);
  CHECK(cursor.Next() == kEarly);
  cursor.OnClaimed(true, kLate);
  CHECK(cursor.Next() == kLate);
}

TEST_CASE("claim cursor: every n-th claim rescans from the head, then the cursor resumes") {
  ClaimCursor cursor(4);
  CHECK_FALSE(cursor.Next().has_value());
  cursor.OnClaimed(true, kEarly);
  int from_head = 0;
  for (int claim = 0; claim < 12; ++claim) {
    if (!cursor.Next()) ++from_head;
  }
  CHECK(from_head == 3);
  // A rescan does not forget the cursor: the claim after it resumes where claims had got to.
  ClaimCursor resumed(2);
  CHECK_FALSE(resumed.Next().has_value());
  resumed.OnClaimed(true, kLate);
  CHECK(resumed.Next() == kLate);
  CHECK_FALSE(resumed.Next().has_value());
  resumed.OnClaimed(true, kEarly);  // the rescan found a row left behind
  CHECK(resumed.Next() == kLate);
}

TEST_CASE("claim cursor: a short claim sends the next one back to the head") {
  ClaimCursor cursor(16);
  cursor.OnClaimed(true, kEarly);
  cursor.OnClaimed(false, kLate);
  CHECK_FALSE(cursor.Next().has_value());
}

TEST_CASE("claim cursor: overlapping claims returning out of order never move it back") {
  ClaimCursor cursor(16);
  cursor.OnClaimed(true, kLate);
  cursor.OnClaimed(true, kEarly);
  CHECK(cursor.Next() == kLate);
  cursor.OnClaimed(true, std::nullopt);
  CHECK(cursor.Next() == kLate);
}

TEST_CASE("claim cursor: a failed claim forgets the cursor") {
  ClaimCursor cursor(16);
  cursor.OnClaimed(true, kLate);
  cursor.OnFailed();
  CHECK_FALSE(cursor.Next().has_value());
}
