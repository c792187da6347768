# The two commands a fresh clone needs: `make demo` and `make test`. Each installs what is missing.
SHELL := /bin/bash
.DEFAULT_GOAL := build
NPM_STAMP := node_modules/.package-lock.json

.PHONY: build deps tools dns-tools demo test test-unit test-integration lint bench clean record-histories

$(NPM_STAMP): package.json package-lock.json
	@echo "▶ npm ci (installing dependencies)…"
	@# The registry reachable here serves only some platforms' optional binaries (@swc/core-*), so npm ci
	@# can refuse the lock as "out of sync"; npm install then installs the same locked versions.
	@npm ci --no-audit --no-fund --loglevel=http || { \
	  echo "▶ npm ci refused the lock file (platform-specific optional packages); installing the locked versions with npm install…"; \
	  npm install --no-audit --no-fund --loglevel=http; }
	@git checkout -- package-lock.json 2>/dev/null || true
	@touch $(NPM_STAMP)

deps: $(NPM_STAMP)

tools:
	@echo "▶ Temporal CLI (dev server)…"
	@./scripts/install-temporal.sh

dns-tools:
	@if [ -x scripts/install-dns-tools.sh ]; then echo "▶ DNS tools (dig, BIND9)…"; ./scripts/install-dns-tools.sh; fi

build: deps
	@echo "▶ compiling TypeScript and bundling workflows…"
	@npm run --silent build

demo: build tools
	@echo "▶ 1/2 the engine on an embedded Temporal dev server: the built-in three-step runbook, a gate decided by a demo approver"
	@node bin/t2t.js demo
	@echo ""
	@echo "▶ 2/2 full rehearsal: the standard 115-step runbook and its back-out plan against the lab (a twin of both tenants)"
	@node bin/t2t.js rehearse

test: build tools dns-tools
	@echo "▶ lint"
	@npm run --silent lint
	@echo "▶ tests (unit + integration on a real Temporal dev server)"
	@mkdir -p .t2t
	@npx jest --ci --json --outputFile=.t2t/jest-results.json; status=$$?; \
	  node -e 'const r=require("./.t2t/jest-results.json"); console.log(`jest: $${r.numPassedTests} passed, $${r.numFailedTests} failed, $${r.numPendingTests} skipped`)'; \
	  exit $$status

test-unit: deps
	@npx jest --selectProjects unit

test-integration: build tools
	@npx jest --selectProjects integration

lint: deps
	@npm run --silent lint

bench: build tools
	@node dist/bench/run-all.js

# Record fresh histories into .t2t/histories. Keep the committed fixtures: they are the runs already in
# flight that new workflow code must still replay; add new ones next to them, never replace them.
record-histories: build tools
	T2T_RECORD_HISTORIES=1 T2T_HISTORIES_DIR=.t2t/histories npx jest test/engine.int.test.ts --selectProjects integration

clean:
	rm -rf dist .t2t coverage
