#pragma once

namespace redrive {

// The release, from CMake's project(VERSION): one number for every binary and build_info.
inline constexpr const char* kRedriveVersion = REDRIVE_VERSION;

}  // namespace redrive
