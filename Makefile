# Tandem — every developer and CI entry point. `make demo` and `make test`
# do all set-up on a fresh machine (Node 20, npm, apt).
SHELL := /bin/bash
NPM_STAMP := node_modules/.install-stamp
# postgresql-15: the oldest supported server, for test/db/postgres15.test.ts (no cluster is created or started).
# prometheus: its promtool checks and unit-tests the alert rules (test/metrics/monitoring.test.ts); no server is started.
# openssh-server: private sshd instances as nodes (test/harness/sshd.ts); chromium: the web UI tests (playwright-core drives it).
DEB_PACKAGES := slapd ldap-utils haproxy nginx curl openssl postgresql-15 prometheus openssh-server chromium
TAP_ARGS ?=
BENCH ?=

.PHONY: install deps-debian build typecheck test test-ci bench demo clean

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
	@if [ "$$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then \
	  echo "creating system user postgres (PostgreSQL refuses to run as root)"; useradd --system --no-create-home postgres; fi

install: $(NPM_STAMP) deps-debian build

build: $(NPM_STAMP)
	npx tsc -p tsconfig.json

typecheck: $(NPM_STAMP)
	npx tsc -p tsconfig.json --noEmit

# All tests (tap, real PostgreSQL/slapd/GCS emulator). TAP_ARGS="test/x.test.ts" runs some.
test: install
	npx tap $(TAP_ARGS)

# What .ci/run calls: full TAP stream to a file, then the pass/fail count.
test-ci: install
	set -o pipefail; npx tap --reporter=tap $(TAP_ARGS) | tee .tap/ci-report.tap

# Benchmarks under test/bench/ (BENCH=name runs one group); writes test/bench/results.json and REPORT.md.
bench: install
	node dist/test/bench/run.js $(BENCH)

# Two sites with replication on this machine (see README, "The demo"); e.g. DEMO_ARGS="--port 5000 --dir /var/tmp/demo".
DEMO_ARGS ?=
demo: install
	node bin/tandem.js demo $(DEMO_ARGS)

clean:
	rm -rf dist .tap
