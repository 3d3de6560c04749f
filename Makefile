# claudemesh — build, generate, verify, lint and test every module of the
# workspace. Tools are installed at pinned versions into .tmp/bin with
# `go install`, so a fresh machine needs only Go (and, for the Postgres half
# of the tests, the OS PostgreSQL server binaries).

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

BIN := $(CURDIR)/.tmp/bin
export PATH := $(BIN):$(PATH)

BUF_VERSION            := v1.75.0
PROTOC_GEN_GO_VERSION  := v1.36.12
CONNECT_GO_VERSION     := v1.21.1
SQLC_VERSION           := v1.31.1
GOLANGCI_LINT_VERSION  := v2.15.0

MODULES := gen db services edge cli
# Generated files checked by `make verify`.
GENERATED := gen db/dbpg/internal/sqlc db/dbsqlite/internal/sqlc

# Test flags; override e.g. `make test TESTFLAGS='-run TestX -v'`.
TESTFLAGS ?=
TEST_TIMEOUT ?= 15m

.PHONY: tools
tools: $(BIN)/.buf-$(BUF_VERSION) $(BIN)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION) \
	$(BIN)/.protoc-gen-connect-go-$(CONNECT_GO_VERSION) $(BIN)/.sqlc-$(SQLC_VERSION) \
	$(BIN)/.golangci-lint-$(GOLANGCI_LINT_VERSION)

# Each tool is installed once per version: the marker file names the version.
$(BIN)/.buf-$(BUF_VERSION):
	GOBIN=$(BIN) go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	@touch $@
$(BIN)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION):
	GOBIN=$(BIN) go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	@touch $@
$(BIN)/.protoc-gen-connect-go-$(CONNECT_GO_VERSION):
	GOBIN=$(BIN) go install connectrpc.com/connect/cmd/protoc-gen-connect-go@$(CONNECT_GO_VERSION)
	@touch $@
$(BIN)/.sqlc-$(SQLC_VERSION):
	GOBIN=$(BIN) go install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)
	@touch $@
$(BIN)/.golangci-lint-$(GOLANGCI_LINT_VERSION):
	GOBIN=$(BIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	@touch $@

.PHONY: generate
generate: $(BIN)/.buf-$(BUF_VERSION) $(BIN)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION) \
	$(BIN)/.protoc-gen-connect-go-$(CONNECT_GO_VERSION) $(BIN)/.sqlc-$(SQLC_VERSION)
	buf format -w
	buf generate
	sqlc generate

# verify regenerates everything and fails if that changed any tracked file,
# then checks formatting, module tidiness and the go lines.
.PHONY: verify
verify: generate
	@if [ -n "$$(git status --porcelain -- proto $(GENERATED))" ]; then \
		echo "generated code or proto formatting is stale; run 'make generate' and commit:"; \
		git status --porcelain -- proto $(GENERATED); git diff --stat -- proto $(GENERATED); exit 1; \
	fi
	@for m in $(MODULES); do (cd $$m && go mod tidy -diff) || { echo "$$m: go.mod/go.sum not tidy; run 'go mod tidy' in $$m"; exit 1; }; done
	@lines=$$(grep -h '^go ' go.work $(addsuffix /go.mod,$(MODULES)) | sort -u | wc -l); \
		if [ "$$lines" != 1 ]; then echo "go lines differ between go.work and the modules:"; grep -H '^go ' go.work */go.mod; exit 1; fi
	@unformatted=$$(gofmt -l $(MODULES)); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	@echo "verify: ok"

.PHONY: lint
lint: $(BIN)/.buf-$(BUF_VERSION) $(BIN)/.golangci-lint-$(GOLANGCI_LINT_VERSION)
	buf lint
	buf format -d --exit-code
	@for m in $(MODULES); do echo "golangci-lint: $$m"; (cd $$m && golangci-lint run ./...) || exit 1; done

# test runs every module's tests with the race detector. Postgres tests use
# TEST_DATABASE_URL, or a throwaway cluster started from the machine's
# PostgreSQL binaries by scripts/with-postgres.sh.
.PHONY: test
test:
	scripts/with-postgres.sh $(MAKE) --no-print-directory test-modules

.PHONY: test-modules
test-modules:
	@for m in $(MODULES); do echo "=== go test $$m"; (cd $$m && go test -race -count=1 -timeout $(TEST_TIMEOUT) $(TESTFLAGS) ./...) || exit 1; done

.PHONY: ci
ci: verify lint test

.PHONY: build
build:
	go build -o bin/claudemesh ./cli/cmd/claudemesh

.PHONY: clean
clean:
	rm -rf .tmp bin
