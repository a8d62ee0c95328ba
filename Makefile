# faultline — the README's commands. Everything a fresh machine lacks is
# installed here (Debian packages) or built (images); nothing is done by hand.

SHELL := /bin/bash
export FAULTLINE_CACHE ?= $(HOME)/.cache/faultline
export CARGO_TARGET_DIR ?= $(FAULTLINE_CACHE)/target
# Release build for drills and load; the dev build (shared with the tests)
# is enough to build images.
FAULTLINE := cargo run --quiet --release -p faultline --
FAULTLINE_DEV := cargo run --quiet -p faultline --
SYSTEM ?= customer-service

.PHONY: all setup images drill test lint bench bench-load bench-proxy up status down clean

all: drill

## setup: Debian packages the image builder needs (debootstrap), then the images.
setup:
	@if ! command -v debootstrap >/dev/null 2>&1 && ! [ -x /usr/sbin/debootstrap ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; fi; \
	fi
	@$(MAKE) --no-print-directory images

## images: build every image (seconds when nothing changed).
images:
	$(FAULTLINE_DEV) images build

## drill: images, the stack, its status, and teardown.
drill: setup
	$(FAULTLINE) up --system $(SYSTEM)
	$(FAULTLINE) status
	$(FAULTLINE) down

## test: every test, container tests against the real stack included.
test: setup
	cargo test --workspace

## lint: formatting and clippy, as CI runs them.
lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

## bench: the benchmarks recorded in BENCHMARKS.md (not timed tests).
bench: bench-load bench-proxy

bench-load:
	@command -v perf >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq linux-perf || sudo apt-get install -y -qq linux-perf; }
	cargo bench -p faultline --bench load

bench-proxy:
	cargo bench -p faultline --bench proxy

up: images
	$(FAULTLINE) up --system $(SYSTEM)

status:
	$(FAULTLINE) status

down:
	$(FAULTLINE) down

clean:
	$(FAULTLINE) clean
