# mldata — build, test and benchmark targets. `make help` lists them.

GO        ?= go
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
PKGS      := ./...
SAMPLE_OUT ?= out/sample
# kubectl and the control plane built by hack/controlplane/build.sh, for
# machines that have none of their own.
export PATH := $(abspath $(BIN))/k8s:$(PATH)

.PHONY: help
help: ## List the targets.
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build bin/mldata.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/mldata ./cmd/mldata

.PHONY: run
run: build ## Build, profile and drift-check the sample in testdata/ (local files, no cluster).
	$(BIN)/mldata build --source testdata/sample --output $(SAMPLE_OUT) --split-key customer_id
	$(BIN)/mldata profile $(SAMPLE_OUT) --split train --output $(SAMPLE_OUT)/profile.json --html $(SAMPLE_OUT)/profile.html
	$(BIN)/mldata drift $(SAMPLE_OUT) testdata/sample-drifted --exclude customer_id --output $(SAMPLE_OUT)/drift.json --html $(SAMPLE_OUT)/drift.html
	@echo "dataset, manifest, profile and drift report are in $(SAMPLE_OUT)/ (open $(SAMPLE_OUT)/profile.html and drift.html)"

.PHONY: deps
deps: ## Install what the tests need and the machine lacks (Chromium; versitygw, Azurite, fake-gcs-server into bin/storage).
	hack/deps.sh

.PHONY: test
test: deps ## Run every test: unit, integration (envtest, S3/Azure/GCS servers), the local node's, end to end.
	$(GO) test -count=1 -race $(PKGS)
	$(GO) test -count=1 -run '^TestHostileInputsFailWithinMemory$$' ./cmd/mldata/ # memory bounds, without the race detector's overhead
	cd hack/node && $(GO) test -count=1 ./...
	$(MAKE) --no-print-directory test-e2e
	$(MAKE) --no-print-directory test-e2e-helm

.PHONY: cover
cover: ## Print statement coverage of pkg/ (target: 85%).
	$(GO) test -count=1 -coverpkg=./pkg/... -coverprofile=cover.out ./pkg/...
	$(GO) tool cover -func=cover.out | tail -n 1

.PHONY: bench
bench: ## Benchmark against DuckDB and Polars (hack/bench/run.sh; ROWS="1000000 5000000", ROUNDS=3, MLDATA="[LABEL=]BINARY ...").
	hack/bench/run.sh $(ROWS)

.PHONY: bench-shards
bench-shards: ## Sharded builds, one core per phase: shards = 1/2/4 on 5M rows in 40 files, commit time vs files (hack/bench/shards.sh; ROWS=, FILES=, SHARDS=, COMMIT_FILES=, BENCH_DATA=).
	hack/bench/shards.sh $(or $(ROWS),5000000) $(or $(FILES),40)

.PHONY: bench-manager
bench-manager: envtest-bins ## Load benchmark of the manager on envtest: 5,000 DatasetBuilds, 50,000 unrelated Pods (BUILDS=, PODS=, INTERVALS=).
	MLDATA_LOAD=1 MLDATA_LOAD_BUILDS=$(or $(BUILDS),5000) MLDATA_LOAD_PODS=$(or $(PODS),50000) MLDATA_LOAD_INTERVALS=$(or $(INTERVALS),3) \
		$(GO) test -count=1 -timeout 60m -run '^TestManagerLoad$$' -v ./controllers/

FUZZTIME ?= 30s

.PHONY: fuzz
fuzz: ## Run every fuzz target in turn for FUZZTIME each (default 30s; PKGS=./pkg/format/ narrows).
	hack/fuzz.sh $(FUZZTIME)

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

# ---------------------------------------------------------------------------
# Kubernetes API (api/), CRDs (config/crd) and the envtest control plane
# (hack/controlplane). Generated files are committed; `make verify` fails when
# they are stale.

# controller-tools v0.22 is the release built on k8s.io 1.37, the API level
# of controller-runtime v0.25 and client-go v0.37 in go.mod.
CONTROLLER_TOOLS_VERSION ?= v0.22.0
CONTROLLER_GEN := $(abspath $(BIN))/controller-gen-$(CONTROLLER_TOOLS_VERSION)
# KUBEBUILDER_ASSETS for tests: where hack/controlplane/build.sh puts
# kube-apiserver, etcd and kube-controller-manager.
ENVTEST_ASSETS := $(abspath $(BIN))/k8s

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Install controller-gen into bin/.
$(CONTROLLER_GEN):
	@mkdir -p $(BIN)/.controller-gen
	GOBIN=$(abspath $(BIN))/.controller-gen $(GO) install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	mv $(BIN)/.controller-gen/controller-gen $@ && rmdir $(BIN)/.controller-gen
	ln -sf $(notdir $@) $(BIN)/controller-gen

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRDs into config/crd/bases (and RBAC from controllers/ markers into config/rbac).
	$(CONTROLLER_GEN) crd:allowDangerousTypes=true paths=./api/... output:crd:artifacts:config=config/crd/bases
	@if [ -d controllers ]; then \
		echo $(CONTROLLER_GEN) rbac:roleName=manager-role paths=./controllers/... output:rbac:artifacts:config=config/rbac; \
		$(CONTROLLER_GEN) rbac:roleName=manager-role paths=./controllers/... output:rbac:artifacts:config=config/rbac; \
	fi

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate the API's deepcopy functions.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...

.PHONY: verify-generated
verify-generated: manifests generate ## Fail when the committed CRDs, RBAC or deepcopy code are stale.
	@git diff --exit-code -- api config || { echo "generated files are stale: run make manifests generate and commit"; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- api config)" || { git status --porcelain --untracked-files=all -- api config; echo "generated files are not committed"; exit 1; }

.PHONY: envtest-bins
envtest-bins: ## Fetch or build kube-apiserver, etcd and kube-controller-manager (garbage collector tests) into bin/k8s (cached).
	hack/controlplane/build.sh --with-controller-manager

# The admission and controller tests need the control plane; these add
# prerequisites without touching the targets' recipes above.
test: envtest-bins
verify: verify-generated

# ---------------------------------------------------------------------------
# Local two-node cluster (hack/cluster): etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and two mldata-node agents, all from
# bin/, on 127.0.0.1. State, certificates and logs live in bin/cluster.

.PHONY: dev-cluster
dev-cluster: ## Start the local cluster (idempotent; hack/cluster/README.md); prints the KUBECONFIG export.
	@hack/cluster/up.sh

.PHONY: dev-cluster-down
dev-cluster-down: ## Stop the local cluster; PURGE=1 also deletes its state (bin/cluster).
	@hack/cluster/down.sh $(if $(filter 1,$(PURGE)),--purge)

# ---------------------------------------------------------------------------
# End to end: the local cluster, a local S3 server (hack/storage/s3.sh) and
# the manager as a process under its generated RBAC (test/e2e, hack/demo.sh).

.PHONY: test-e2e
test-e2e: ## Run the end-to-end suite (test/e2e) on its own cluster and S3 server (ports 16543, 19000).
	$(GO) test -tags e2e -count=1 -timeout 40m -v ./test/e2e/

.PHONY: demo
demo: ## The operator quick start: cluster, S3, sample data, manager, config/samples; prints kubectl get mldata.
	hack/demo.sh up

.PHONY: demo-down
demo-down: ## Stop what make demo started.
	hack/demo.sh down

# ---------------------------------------------------------------------------
# API reference (docs/api.md), generated from api/ by crd-ref-docs (built
# through the Go module proxy into bin/). `make verify` fails when it is stale.

CRD_REF_DOCS_VERSION ?= v0.3.0
CRD_REF_DOCS := $(abspath $(BIN))/crd-ref-docs-$(CRD_REF_DOCS_VERSION)

$(CRD_REF_DOCS):
	@mkdir -p $(BIN)/.crd-ref-docs
	GOBIN=$(abspath $(BIN))/.crd-ref-docs $(GO) install github.com/elastic/crd-ref-docs@$(CRD_REF_DOCS_VERSION)
	mv $(BIN)/.crd-ref-docs/crd-ref-docs $@ && rmdir $(BIN)/.crd-ref-docs

.PHONY: api-docs
api-docs: $(CRD_REF_DOCS) ## Generate the API reference docs/api.md from api/ (hack/api-docs).
	$(CRD_REF_DOCS) --log-level=WARN --source-path=./api --config=hack/api-docs/config.yaml --renderer=markdown --output-path=docs/api.md.tmp
	{ echo '<!-- Generated from api/ by make api-docs (hack/api-docs); do not edit. -->'; echo; cat docs/api.md.tmp; } > docs/api.md && rm docs/api.md.tmp

.PHONY: verify-api-docs
verify-api-docs: api-docs ## Fail when docs/api.md is stale.
	@git diff --exit-code -- docs/api.md || { echo "docs/api.md is stale: run make api-docs and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- docs/api.md)" || { echo "docs/api.md is not committed: run make api-docs and commit"; exit 1; }

verify: verify-api-docs

# ---------------------------------------------------------------------------
# Lint: golangci-lint (.golangci.yml) over the module and the Kubernetes API
# linter (.golangci-kal.yml) over api/, one binary built from the module proxy
# into bin/ by hack/lint/build.sh (cached per version pin; hack/lint/README.md).

.PHONY: lint
lint: ## Run golangci-lint and kube-api-linter (built into bin/ on first use).
	@lint=$$(hack/lint/build.sh) && $$lint run ./... && $$lint run --config .golangci-kal.yml ./api/...

verify: lint

# ---------------------------------------------------------------------------
# Helm chart (charts/mldata), alerts (config/prometheus) and dashboard
# (config/grafana). helm, kubeconform and promtool are built from source
# through the Go module proxy into bin/ by hack/tools/install.sh, once.

HELM_VERSION        ?= v4.3.2
KUBECONFORM_VERSION ?= v0.8.0
# The Go module version of Prometheus 3.16's promtool.
PROMTOOL_VERSION    ?= v0.316.0
HELM        := $(abspath $(BIN))/helm-$(HELM_VERSION)
KUBECONFORM := $(abspath $(BIN))/kubeconform-$(KUBECONFORM_VERSION)
PROMTOOL    := $(abspath $(BIN))/promtool-$(PROMTOOL_VERSION)

$(HELM):
	hack/tools/install.sh helm helm.sh/helm/v4/cmd/helm $(HELM_VERSION) >/dev/null
$(KUBECONFORM):
	hack/tools/install.sh kubeconform github.com/yannh/kubeconform/cmd/kubeconform $(KUBECONFORM_VERSION) >/dev/null
$(PROMTOOL):
	hack/tools/install.sh promtool github.com/prometheus/prometheus/cmd/promtool $(PROMTOOL_VERSION) >/dev/null

.PHONY: helm kubeconform promtool
helm: $(HELM) ## Build helm into bin/ (cached).
kubeconform: $(KUBECONFORM) ## Build kubeconform into bin/ (cached).
promtool: $(PROMTOOL) ## Build promtool into bin/ (cached; the largest of the three).

.PHONY: chart
chart: $(HELM) ## Copy config/ (CRDs, RBAC rules, dashboard) into charts/mldata and render config/prometheus/alerts.yaml from the chart.
	$(GO) run ./hack/chart
	$(HELM) template mldata charts/mldata --namespace mldata-system --set prometheusRule.enabled=true \
		--show-only templates/prometheusrule.yaml > config/prometheus/alerts.yaml.tmp
	{ echo '# Generated from charts/mldata/templates/prometheusrule.yaml by make chart; do not edit.'; \
	  echo '# kubectl apply -k config/prometheus applies it (needs the monitoring.coreos.com CRDs).'; \
	  grep -vE '^(# Source:|    (helm.sh/chart|app.kubernetes.io/(managed-by|instance)):)' config/prometheus/alerts.yaml.tmp; \
	} > config/prometheus/alerts.yaml && rm config/prometheus/alerts.yaml.tmp

.PHONY: chart-verify
chart-verify: chart ## Fail when the chart or config/prometheus/alerts.yaml are stale, or helm lint fails.
	@git diff --exit-code -- charts config/prometheus config/grafana || { echo "the chart or config/prometheus/alerts.yaml are stale: run make chart and commit"; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- charts config/prometheus)" || { git status --porcelain -- charts config/prometheus; echo "run make chart and commit"; exit 1; }
	$(HELM) lint --strict charts/mldata
	$(HELM) lint --strict charts/mldata --set scope=namespaced --set 'watchNamespaces={team-a}'

.PHONY: test-e2e-helm
test-e2e-helm: $(HELM) ## The end-to-end setup and first scenario with the operator installed by the Helm chart instead of kustomize.
	E2E_INSTALL=helm $(GO) test -tags e2e -count=1 -timeout 30m -v -run '^TestE2E$$/^samples$$' ./test/e2e/

test: $(HELM) $(KUBECONFORM) $(PROMTOOL)
verify: chart-verify
