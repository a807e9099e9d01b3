#!/bin/sh
# Builds the libFuzzer targets with clang++ -fsanitize=fuzzer,address,undefined into
# $FUZZ_DIR (default build-fuzz/), straight from the project's sources: each target compiles
# only the pure code it exercises, so no CMake build tree is needed.
#
# Needs clang and its sanitizer runtimes: on Debian 12, `apt-get install clang
# libclang-rt-14-dev` (libclang-rt-14-dev is only a Recommends of clang-14). The libraries
# are the project's own: nlohmann-json3-dev (headers), libyaml-cpp-dev.
set -eu

cd "$(dirname "$0")/.."
FUZZ_DIR=${FUZZ_DIR:-build-fuzz}
CXX=${FUZZ_CXX:-clang++}
mkdir -p "$FUZZ_DIR"

if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "fuzz/build.sh: $CXX not found; install clang and libclang-rt-14-dev" >&2
  exit 1
fi

FLAGS="-std=c++20 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
  -fno-sanitize-recover=all -I. -Wall -Wextra -Werror"

build() {
  target=$1
  shift
  echo "fuzz/build.sh: building $FUZZ_DIR/$target"
  # shellcheck disable=SC2086 # FLAGS is a list of flags
  $CXX $FLAGS -o "$FUZZ_DIR/$target" "$@"
}

# The event decoders and the pure domain code they call (IsUuid).
build event_decoder_fuzzer fuzz/event_decoder_fuzzer.cpp workers/event_decoding.cpp \
  core/domain/*.cpp

# The configuration parser: all of core/config except startup.cpp, which does the I/O
# (file, environment, exit) and hands secrets to the log.
config_sources=""
for source in core/config/*.cpp; do
  [ "$source" = core/config/startup.cpp ] || config_sources="$config_sources $source"
done
# shellcheck disable=SC2086 # one word per file
build config_fuzzer fuzz/config_fuzzer.cpp $config_sources core/domain/*.cpp -lyaml-cpp
