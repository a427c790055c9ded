# Developer entry points; .ci/run calls these.
GO      ?= go
TOOLS   := $(CURDIR)/bin/tools
VULNDB  ?= $(abspath $(CURDIR)/../shared/vulndb)
FUZZTIME ?= 10s

.PHONY: build test race lint vuln fuzz-seeds fuzz bench bench-go tools ci

build:
	$(GO) build -o bin/onrecord ./cmd/onrecord

test:
	$(GO) test ./...

race:
	$(GO) test -race ./...

tools:
	cd tools && GOBIN=$(TOOLS) $(GO) install golang.org/x/vuln/cmd/govulncheck honnef.co/go/tools/cmd/staticcheck

lint: tools
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1)
	$(GO) vet ./...
	$(TOOLS)/staticcheck ./...
	$(GO) mod tidy -diff

vuln: tools
	$(TOOLS)/govulncheck -db file://$(VULNDB) ./...

# Every fuzz target's seed corpus runs in `go test`; this runs each target
# for FUZZTIME on top (long runs: make fuzz FUZZTIME=10m).
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) bash .ci/fuzz

bench: build
	./bin/onrecord bench journal --dir $${TMPDIR:-/tmp}/onrecord-bench

bench-go:
	$(GO) test -run '^$$' -bench . -benchtime 1s ./...

ci:
	bash .ci/run
