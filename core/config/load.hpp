#pragma once

#include <string_view>

#include "core/config/config.hpp"

namespace redrive::config {

// Load, with `source_name` as the key of errors that belong to the YAML text as a whole
// (syntax errors, a top level that is not a map): LoadOrExit passes the file's path.
LoadResult LoadNamed(std::string_view source_name, std::string_view yaml_text,
                     const Environment& env);

}  // namespace redrive::config
