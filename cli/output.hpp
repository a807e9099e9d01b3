#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace redrive::cli {

// An aligned text table: a header row, then the rows, columns padded to their widest cell
// and separated by two spaces. Cells are printed as given (no truncation).
void PrintTable(std::ostream& out, const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows);

// "3m12s", "2h05m", "4d03h": a duration in seconds for humans.
std::string HumanDuration(double seconds);

}  // namespace redrive::cli
