# irsa: build, run and test. `make test` is the whole suite and is what CI runs
# (.ci/run); it installs nothing it can do without and checks what it needs.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO        ?= go
GOFMT     ?= gofmt
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
FUZZTIME  ?= 10s
GO_MIN    := 1.26

GOLANGCI_LINT_VERSION ?= v2.15.0
GOLANGCI_LINT := bin/golangci-lint-$(GOLANGCI_LINT_VERSION)

# `make run` serves irsa with the quickstart config on this address and data
# directory.
LISTEN   ?= 127.0.0.1:4590
DATA_DIR ?= .irsa

# Tools the end-to-end tests drive: the AWS CLI and boto3 (from PATH, or a
# virtualenv made here when missing) and the AWS SDK for JavaScript (npm).
E2E_VENV := $(HOME)/.cache/irsa/venv
export PATH := $(E2E_VENV)/bin:$(PATH)

.PHONY: help build run awscli e2e-deps kube-deps manifests test test-short check-go vet fmt-check test-race fuzz-short bench fuzz lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

build: check-go ## build bin/irsa
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/irsa ./cmd/irsa

run: build awscli ## build irsa and serve it with examples/quickstart.yaml (LISTEN, DATA_DIR)
	bin/irsa up --listen $(LISTEN) --data-dir $(DATA_DIR) --config examples/quickstart.yaml

# The AWS CLI and boto3: from PATH when present, else installed into a
# virtualenv under ~/.cache/irsa (python3-venv from Debian when missing).
awscli:
	@if ! command -v aws >/dev/null 2>&1 || ! python3 -c 'import boto3' >/dev/null 2>&1; then \
		if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null; fi; \
		echo "installing the AWS CLI and boto3 into $(E2E_VENV)"; \
		python3 -m venv $(E2E_VENV) && $(E2E_VENV)/bin/pip install --quiet awscli boto3; fi

# What the end-to-end tests need besides Go: the AWS CLI and boto3, and
# Node.js with npm for the AWS SDK for JavaScript (from test/e2e/js's lock
# file). Each is installed only when missing.
e2e-deps: awscli
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			echo "installing nodejs and npm"; apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; \
		else echo "make: the end-to-end tests need Node.js and npm (apt-get install nodejs npm)" >&2; exit 1; fi; fi
	@if [ -f test/e2e/js/package.json ] && [ ! -d test/e2e/js/node_modules ]; then echo "installing the AWS SDK for JavaScript (npm ci)"; \
		cd test/e2e/js && npm ci --no-audit --no-fund --loglevel=error; fi

# A real kube-apiserver (built once from the Go module proxy into
# ~/.cache/irsa) and Debian's etcd, for the Kubernetes end-to-end tests.
kube-deps:
	@scripts/kube-control-plane.sh >/dev/null
	@scripts/helm.sh >/dev/null

# PostgreSQL's server binaries (Debian's postgresql, installed when missing)
# for the PostgreSQL tests of internal/store/sqlstore, which start their own
# server on a free loopback port.
.PHONY: pg-deps
pg-deps:
	@scripts/postgres.sh deps >/dev/null
test: pg-deps

manifests: ## render deploy/manifests/irsa.yaml from the Helm chart
	scripts/render-manifests.sh

test: check-go e2e-deps kube-deps vet fmt-check test-race fuzz-short ## the whole suite: vet, gofmt, race tests (end-to-end included), a short run of every fuzzer

test-short: check-go ## quick tests (go test -short)
	$(GO) test -short ./...

check-go:
	@command -v $(GO) >/dev/null 2>&1 || { echo "make: Go is not installed; irsa needs Go $(GO_MIN) or newer (https://go.dev/dl/)" >&2; exit 1; }
	@v=$$($(GO) env GOVERSION); v=$${v#go}; major=$${v%%.*}; rest=$${v#*.}; minor=$${rest%%[!0-9]*}; \
	if ! [[ "$$major" =~ ^[0-9]+$$ && "$$minor" =~ ^[0-9]+$$ ]] || (( major < 1 || (major == 1 && minor < $(word 2,$(subst ., ,$(GO_MIN)))) )); then \
		echo "make: irsa needs Go $(GO_MIN) or newer, found $$($(GO) env GOVERSION) at $$(command -v $(GO))" >&2; exit 1; \
	fi

vet: check-go
	$(GO) vet ./...

fmt-check:
	@out=$$(find . -path ./bin -prune -o -path ./.git -prune -o -path '*/testdata' -prune -o -name '*.go' -print | xargs -r $(GOFMT) -l); \
	if [ -n "$$out" ]; then echo "gofmt would change these files (run gofmt -w):" >&2; echo "$$out" >&2; exit 1; fi

# The race detector needs cgo and a C compiler; install one on Debian if it
# is missing.
test-race: check-go
	@command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || { \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			echo "installing gcc for the race detector"; apt-get update -qq && apt-get install -y -qq gcc >/dev/null; \
		else echo "make: the race detector needs a C compiler (gcc)" >&2; exit 1; fi; }
	CGO_ENABLED=1 $(GO) test -race -count=1 ./...

# Every Fuzz* target in the module, found by `go test -list`, for FUZZTIME each.
fuzz-short: check-go
	@targets=$$($(GO) test -list '^Fuzz' ./... | awk '/^Fuzz/ {n[c++]=$$1; next} /^ok/ {for (i = 0; i < c; i++) print $$2, n[i]; c = 0}'); \
	if [ -z "$$targets" ]; then echo "no fuzz targets"; exit 0; fi; \
	while read -r pkg name; do \
		echo "fuzz $$name in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
	done <<< "$$targets"

fuzz: ## fuzz every target longer (FUZZTIME=60s each)
	$(MAKE) fuzz-short FUZZTIME=60s

bench: build ## benchmarks: policy engine, SigV4, token verification, the STS and EKS Auth paths, the audit encoder, the node agent, and a load run against irsa up (audit on and off)
	$(GO) test -run '^$$' -bench . -benchmem ./internal/policy/ ./internal/sigv4/ ./internal/webidentity/ ./internal/app/ ./internal/audit/ ./internal/agent/
	@command -v wrk >/dev/null 2>&1 || { if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && apt-get install -y -qq wrk >/dev/null; else echo "wrk not installed: the peak is measured with the Go generator"; fi; }
	$(GO) run ./test/load -irsa bin/irsa -duration 10s -concurrency 512

$(GOLANGCI_LINT):
	@mkdir -p bin
	GOBIN=$(CURDIR)/bin/.lint-install $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv bin/.lint-install/golangci-lint $@ && rmdir bin/.lint-install

lint: check-go $(GOLANGCI_LINT) ## golangci-lint (installed into ./bin on first use)
	$(GOLANGCI_LINT) run ./...

clean: ## remove build outputs
	rm -rf bin
