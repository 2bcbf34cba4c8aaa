# The two commands a newcomer needs: `make demo` and `make test`.
GO ?= go
PKGS := ./...
EXAMPLES := $(shell find _examples -name main.go -exec dirname {} \; 2>/dev/null)

.PHONY: demo test bench lint vet

## demo: publish typed events to the embedded Kafka broker and read them back.
demo:
	$(GO) run ./_examples/demo

## test: the whole suite against the local PostgreSQL, MariaDB and services.
test: vet
	$(GO) test -count=1 -timeout 14m $(PKGS)

## bench: benchmarks, results as ratios against baselines run side by side.
bench:
	$(GO) test -p 1 -run '^$$' -bench . -benchtime 1x -timeout 30m $(PKGS)

## vet: gofmt and go vet over the module and the examples.
vet:
	@out=$$(gofmt -l . ); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS) $(addprefix ./,$(EXAMPLES))

## lint: everything vet does.
lint: vet
