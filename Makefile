# Tandem — every developer and CI entry point. `make demo` and `make test`
# do all set-up on a fresh machine (Node 20, npm, apt): the demo needs the npm
# packages and the build only; the tests also need Debian packages (deps-debian).
SHELL := /bin/bash
NPM_STAMP := node_modules/.install-stamp
# postgresql-15: the oldest supported server, for test/db/postgres15.test.ts (no cluster is created or started).
# prometheus: its promtool checks and unit-tests the alert rules (test/metrics/monitoring.test.ts); no server is started.
# openssh-server: private sshd instances as nodes (test/harness/sshd.ts); chromium: the web UI tests (playwright-core drives it).
# systemd: systemd-analyze verifies the shipped units (test/deploy/files.test.ts); systemd itself is not started.
# python3-pyrundeck: a Rundeck API client this project did not write, driven by test/rundeck-api/clients.test.ts.
# A test that skips because one of these is missing fails in CI (test/count-tap.mjs).
DEB_PACKAGES := slapd ldap-utils haproxy nginx curl openssl postgresql-15 prometheus openssh-server chromium systemd python3-pyrundeck
TAP_ARGS ?=
BENCH ?=

.PHONY: install install-test deps-debian postgres-user check-access build typecheck test test-ci screenshots bench soak demo clean

# The build runs only when a TypeScript source or the compiler settings changed since the last one, and
# then incrementally (tsconfig.json: incremental, build info in dist/), so a restart of the demo starts at once.
TS_SOURCES := $(shell find server replicator test -name '*.ts' -not -name '*.d.ts' 2>/dev/null)
# The web UI (server/ui/app/): type-checked with its own settings (DOM, JSX), bundled by esbuild into dist/ui/.
UI_SOURCES := $(shell find server/ui/app -name '*.ts' -o -name '*.tsx' -o -name '*.css' -o -name 'tsconfig.json' 2>/dev/null)
BUILD_STAMP := dist/.build-stamp

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NPM_STAMP)

# Debian packages the tests need (installed only when missing; needs root or sudo). Their daemons
# (slapd, nginx, haproxy, prometheus) are not started: the tests run private instances.
deps-debian:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  if [ ! -e /etc/postgresql-common/createcluster.conf ]; then $$SUDO mkdir -p /etc/postgresql-common && echo 'create_main_cluster = false' | $$SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null; fi; \
	  policy=""; if [ ! -e /usr/sbin/policy-rc.d ]; then policy=yes; printf '#!/bin/sh\nexit 101\n' | $$SUDO tee /usr/sbin/policy-rc.d >/dev/null; $$SUDO chmod +x /usr/sbin/policy-rc.d; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; rc=$$?; \
	  if [ -n "$$policy" ]; then $$SUDO rm -f /usr/sbin/policy-rc.d; fi; \
	  [ $$rc = 0 ] || exit $$rc; \
	fi

# As root, PostgreSQL (the demo's and the tests') runs as the system user postgres.
postgres-user:
	@if [ "$$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then \
	  echo "creating system user postgres (PostgreSQL refuses to run as root)"; useradd --system --no-create-home postgres; fi

# What the demo needs: npm packages and the build.
install: $(NPM_STAMP) postgres-user build

# What the tests and benchmarks need on top: the Debian packages.
install-test: install deps-debian

# As root, PostgreSQL runs as user postgres, which must reach the checkout (its binaries are in
# node_modules) and the temp directory: one line saying what to do instead of initdb EACCES in every test.
check-access:
	@node test/check-access.mjs

build: $(BUILD_STAMP)

$(BUILD_STAMP): $(NPM_STAMP) tsconfig.json $(TS_SOURCES) $(UI_SOURCES)
	npx tsc -p tsconfig.json
	npx tsc -p server/ui/app/tsconfig.json
	node dist/server/ui/build.js
	@touch $(BUILD_STAMP)

typecheck: $(NPM_STAMP)
	npx tsc -p tsconfig.json --noEmit
	npx tsc -p server/ui/app/tsconfig.json

# All tests (tap, real PostgreSQL/slapd/GCS emulator). TAP_ARGS="test/x.test.ts" runs some.
test: check-access install-test
	npx tap $(TAP_ARGS)

# What .ci/run calls: full TAP stream to a file, then the pass/fail count.
test-ci: check-access install-test
	set -o pipefail; npx tap --reporter=tap $(TAP_ARGS) | tee .tap/ci-report.tap

# The web UI tests in Chromium, writing screenshots of the main pages (shown in the root README) into server/ui/screenshots/.
screenshots: check-access install-test
	TANDEM_SCREENSHOTS=server/ui/screenshots npx tap --reporter=terse test/ui/

# Benchmarks under test/bench/ (BENCH=name runs one group); writes test/bench/results.json and REPORT.md.
bench: check-access install-test
	node dist/test/bench/run.js $(BENCH)

# The replicator soak (about an hour; not part of bench or test): 100 kill -9 of the replicator, 10 immediate
# restarts of the source and 10 of the target under a mixed workload, the target compared byte-exactly after
# each; writes replication.soak_* into test/bench/results.json and REPORT.md (replicator/README.md, "Reliability tests").
soak: check-access install-test
	node dist/test/bench/run.js soak

# Two sites with replication on this machine (see README, "The demo"); e.g. DEMO_ARGS="--port 5000 --dir /var/tmp/demo".
DEMO_ARGS ?=
demo: install
	@node bin/tandem.js demo $(DEMO_ARGS)

clean:
	rm -rf dist .tap
