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

# The IRSA trust example that `make run` simulates.
TRUST_EXAMPLE := examples/policies/irsa-trust.json
OIDC_HOST     := oidc.irsa.local/id/EXAMPLE
SIMULATE_IRSA := bin/irsa policy simulate --trust-policy $(TRUST_EXAMPLE) \
	--action sts:AssumeRoleWithWebIdentity \
	--resource arn:aws:iam::000000000000:role/s3-reader \
	--principal arn:aws:iam::000000000000:oidc-provider/$(OIDC_HOST) \
	--context $(OIDC_HOST):aud=sts.amazonaws.com

.PHONY: help build run test test-short check-go vet fmt-check test-race fuzz-short bench fuzz lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

build: check-go ## build bin/irsa
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/irsa ./cmd/irsa

# For now `make run` shows the policy engine on the IRSA trust example: the
# production service account may assume the role, the staging one may not.
# The next issue replaces this with `irsa up`, the all-in-one server.
run: build ## build irsa and simulate an allowed and a denied IRSA role assumption
	@echo '== production/s3-reader assumes the production role (allowed)'
	@$(SIMULATE_IRSA) --context $(OIDC_HOST):sub=system:serviceaccount:production:s3-reader
	@echo
	@echo '== staging/s3-reader tries the production role (denied)'
	@$(SIMULATE_IRSA) --context $(OIDC_HOST):sub=system:serviceaccount:staging:s3-reader

test: check-go vet fmt-check test-race fuzz-short ## the whole suite: vet, gofmt, race tests, a short run of every fuzzer

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

bench: check-go ## policy engine benchmarks
	$(GO) test -run '^$$' -bench . -benchmem ./internal/policy/...

$(GOLANGCI_LINT):
	@mkdir -p bin
	GOBIN=$(CURDIR)/bin/.lint-install $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv bin/.lint-install/golangci-lint $@ && rmdir bin/.lint-install

lint: check-go $(GOLANGCI_LINT) ## golangci-lint (installed into ./bin on first use)
	$(GOLANGCI_LINT) run ./...

clean: ## remove build outputs
	rm -rf bin
