# mldata — build, test and benchmark targets. `make help` lists them.

GO        ?= go
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
PKGS      := ./...
SAMPLE_OUT ?= out/sample

.PHONY: help
help: ## List the targets.
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build bin/mldata.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/mldata ./cmd/mldata

.PHONY: run
run: build ## Build a dataset from the sample in testdata/sample (local files, no cluster).
	$(BIN)/mldata build --source testdata/sample --output $(SAMPLE_OUT) --split-key customer_id
	$(BIN)/mldata profile $(SAMPLE_OUT) --split train --output $(SAMPLE_OUT)/profile.json --html $(SAMPLE_OUT)/profile.html
	@echo "dataset, manifest and profile are in $(SAMPLE_OUT)/ (open $(SAMPLE_OUT)/profile.html)"

.PHONY: deps
deps: ## Install what the tests need and the machine lacks (Chromium for the HTML report tests).
	hack/deps.sh

.PHONY: test
test: deps ## Run every test.
	$(GO) test -count=1 -race $(PKGS)

.PHONY: cover
cover: ## Print statement coverage of pkg/ (target: 85%).
	$(GO) test -count=1 -coverprofile=cover.out ./pkg/...
	$(GO) tool cover -func=cover.out | tail -n 1

.PHONY: bench
bench: ## Benchmark against DuckDB and Polars (hack/bench/run.sh; ROWS="1000000 5000000").
	hack/bench/run.sh $(ROWS)

.PHONY: fmt
fmt: ## Format the code.
	gofmt -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet.
	$(GO) vet $(PKGS)

.PHONY: verify
verify: vet ## Fail when code is unformatted or go.mod/go.sum are untidy.
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "run make fmt"; exit 1; }
	$(GO) mod tidy -diff
