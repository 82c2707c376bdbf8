# Tether: the two commands of README.md are `make demo` and `make test`.
# Every target bootstraps (installs missing tools, skips present ones) before it runs.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help
SUITES := fmt clippy clippy-wasm native browser package js e2e

.PHONY: help bootstrap test demo $(addprefix test-,$(SUITES))

help:
	@echo "make demo       build the WASM package and run the reference server (see README.md)"
	@echo "make test       bootstrap, then every suite; fails at the first failing suite"
	@echo "make bootstrap  install missing tools only"
	@echo "make test-SUITE one suite after the bootstrap: $(SUITES)"

bootstrap:
	@scripts/bootstrap.sh

test: bootstrap
	@scripts/test.sh all

demo: bootstrap
	@scripts/demo.sh

$(addprefix test-,$(SUITES)): test-%: bootstrap
	@scripts/test.sh $*
