# asps: the two commands a newcomer runs (README.md):
#   make demo   build and run a full attested secret release (simulated platform)
#   make test   build Release and ASan/UBSan+fuzz builds, run every test in both
# Each installs the Debian packages it needs when they are missing.

DEBS := cmake make gcc clang libclang-rt-14-dev pkg-config openssl curl \
        libssl-dev libcjson-dev libcmocka-dev libcurl4-openssl-dev \
        libgrpc-dev protobuf-c-compiler libprotobuf-c-dev \
        python3 python3-grpcio python3-flask xxd \
        libmicrohttpd-dev libsystemd-dev prometheus systemd \
        help2man bash-completion groff-base man-db
JOBS ?= 2
# make install: where (PREFIX) and under which staging root (DESTDIR)
PREFIX ?= /usr/local
DESTDIR ?=
BUILD_DIR ?= build
SHELL := /bin/bash

.PHONY: all deps build build-asan test demo demo-flask bench clean install install-built

all: build

deps:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build -j$(JOBS)

build-asan: deps
	CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DASPS_SANITIZE=ON -DASPS_FUZZ=ON >/dev/null
	cmake --build build-asan -j$(JOBS)

# ASPS_STRICT: every test runs; one that would skip (a missing tool or
# vector) fails instead, and so does a ctest run that skipped any; only a
# checkout with no ../shared/vectors beside it may leave out the tests that
# read them, and check_ctest.sh lists those.
test: build build-asan
	rm -f build/not-run.txt build-asan/not-run.txt
	set -o pipefail; cd build && ASPS_STRICT=1 ctest --output-on-failure -j$(JOBS) | tee ctest.log
	bash scripts/check_ctest.sh build
	set -o pipefail; cd build-asan && ASPS_STRICT=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j$(JOBS) | tee ctest.log
	bash scripts/check_ctest.sh build-asan

# only what the demo runs: the asps command (not every test and benchmark);
# KEEP=1 keeps its working folder (the demo says where)
demo: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build -j$(JOBS) --target asps
	KEEP="$(KEEP)" bash scripts/demo.sh

demo-flask: build
	bash scripts/demo_flask.sh

bench: build
	bash scripts/bench.sh

# the Release build, then PREFIX/bin/asps, the libraries, the public headers,
# asps.pc, the systemd unit and its sysusers.d user, example configs, README,
# the man page (asps.1) and the bash completion
install: build
	$(MAKE) --no-print-directory install-built
# the install step alone, of an existing build (BUILD_DIR); tests use it
install-built:
	DESTDIR="$(DESTDIR)" cmake --install "$(BUILD_DIR)" --prefix "$(PREFIX)"

clean:
	rm -rf build build-asan
