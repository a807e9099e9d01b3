# redrive: one image for every role (worker, controller, redrivectl, gateway-sim).
#   docker build -t redrive:0.1.0 .
# See docs/container-image.md. No docker or podman runs on our CI machines, so this file is
# kept honest by ctest instead: tests/image/check-runtime-packages compares the runtime
# package list below with what `ldd` says the binaries link (and the build stage runs the
# same check, so a drifted list also fails the image build).

# ---- build ----------------------------------------------------------------------------------
FROM debian:12 AS build

# The build half of scripts/install-deps (that script also installs PostgreSQL, Go and the
# Python test tools, which only the tests need). binutils (readelf) comes with build-essential.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev libboost-url1.81-dev \
      libpqxx-dev libpq-dev libyaml-cpp-dev prometheus-cpp-dev doctest-dev \
      nlohmann-json3-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# Only the four shipped binaries; the test and benchmark targets are configured, not built.
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
 && cmake --build build --target redrive-worker redrive-controller redrivectl gateway-sim

# The runtime list below must match what these binaries link (same check as ctest's
# image_runtime_packages_cover_the_binaries), then stage what the runtime image gets.
RUN tests/image/check-runtime-packages build/bin Dockerfile \
 && install -d /out/usr/local/bin \
 && install -m 0755 build/bin/redrive-worker build/bin/redrive-controller build/bin/redrivectl \
      build/bin/gateway-sim tools/kubectl-redrive /out/usr/local/bin/

# ---- runtime --------------------------------------------------------------------------------
FROM debian:12-slim

ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="redrive" \
      org.opencontainers.image.description="Transactional-outbox workers and a leader-elected reconciler that re-drives lost work on PostgreSQL: redrive-worker, redrive-controller, redrivectl, gateway-sim" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.documentation="docs/container-image.md" \
      org.opencontainers.image.base.name="docker.io/library/debian:12-slim"

# Only the shared-library packages the binaries link directly; apt brings their own
# dependencies (libpq5, Kerberos, LDAP, ...) and the check proves it will. One package per
# line between the markers: tests/image/check-runtime-packages parses them.
# bash: tools/kubectl-redrive; ca-certificates: TLS trust roots (PostgreSQL verify-full).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
# runtime-packages:begin
      bash \
      ca-certificates \
      libboost-program-options1.81.0 \
      libboost-url1.81.0 \
      libpqxx-6.4 \
      libprometheus-cpp-core1.0 \
      libssl3 \
      libstdc++6 \
      libyaml-cpp0.7 \
# runtime-packages:end
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 redrive \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin redrive

# Owned by root and not writable by the redrive user.
COPY --from=build /out/ /

# Fail the build, not the first pod, when a library is missing: every binary must resolve
# and run its --help in the final image.
RUN for bin in redrive-worker redrive-controller redrivectl gateway-sim; do \
      if ldd "/usr/local/bin/$bin" | grep -F 'not found'; then \
        echo "$bin: shared library missing from the runtime image" >&2; exit 1; \
      fi; \
      "/usr/local/bin/$bin" --help >/dev/null || exit 1; \
    done

# Numeric, so Kubernetes runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001

# The admin server (/healthz, /readyz, /metrics): admin.listen defaults to 0.0.0.0:9464.
EXPOSE 9464

# No entrypoint: the image has four programs and the role is chosen by the command, e.g.
# Kubernetes `command: [redrive-worker, --consumer, payment]`, `[redrive-controller]`, or
# `[redrivectl, migrate]` in a pre-install/pre-upgrade hook Job. Every binary is PID 1-safe
# on its own: it handles SIGTERM (drain, release leases) and starts no child processes.
# A bare `docker run redrive:0.1.0` prints the worker's usage and exits 0 rather than start
# a half-configured process.
ENTRYPOINT []
CMD ["redrive-worker", "--help"]
