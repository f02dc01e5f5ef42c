# slipway: the two commands that matter are `make demo` and `make test`. Both work on a fresh Debian 12
# machine as root: they install what they need (apt packages, npm packages, the sandbox image).

.PHONY: all install deps build lint test test-unit test-integration test-e2e demo bench bench-overhead \
        bench-sandbox bench-deploy bench-zero-downtime bench-rollback bench-multi-host bench-recovery bench-pitr chaos sandbox-deps sandbox-image clean

all: build

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

install: node_modules/.installed

deps:
	scripts/install-test-deps.sh

build: install
	npm run build

lint: install
	npx eslint .
	npx tsc -p tsconfig.json --noEmit

# Everything: unit, integration (local and SSH executors against a real sshd on 127.0.0.1) and
# end-to-end (real deploys to sandbox servers).
test: deps sandbox-deps build lint test-unit test-integration test-e2e

test-unit: install
	npx vitest run --project unit

test-integration: deps build
	npx vitest run --project integration

test-e2e: sandbox-image
	npx vitest run --project e2e

sandbox-deps:
	scripts/install-sandbox-deps.sh

sandbox-image: sandbox-deps build
	scripts/build-sandbox-image.sh

# Deploy the example app to a local sandbox server and show it answering (APP=node: the Node example).
demo: deps sandbox-image
	APP=$(APP) scripts/demo.sh

# Figures, not pass/fail: CLI overhead, sandbox boot, deploy/redeploy/rollback times, failed requests under load,
# redeploy time on 1, 2, 4 and 8 servers.
bench: bench-overhead bench-sandbox bench-deploy bench-zero-downtime bench-rollback bench-multi-host bench-recovery bench-pitr

bench-overhead: build
	node bench/overhead.mjs

bench-sandbox: sandbox-image
	node bench/sandbox.mjs $(if $(COLD),--cold)

bench-deploy: sandbox-image
	node bench/deploy.mjs

bench-zero-downtime: sandbox-image
	node bench/zero-downtime.mjs

bench-rollback: sandbox-image
	node bench/rollback.mjs

bench-multi-host: sandbox-image
	node bench/multi-host.mjs

bench-recovery: sandbox-image
	node bench/recovery.mjs

bench-pitr: sandbox-image
	node bench/pitr.mjs

# Faults on purpose (kill -9 at every step, link cuts, reboot, power-off, full disk, racing deploys), under load:
# one row of figures per case, in under 20 minutes. Figures, not pass/fail; see docs/reliability.md.
chaos: sandbox-image
	node bench/chaos.mjs

clean:
	rm -rf dist node_modules
