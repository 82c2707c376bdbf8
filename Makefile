# Tether: the two commands of README.md are `make demo` and `make test`.
# Every target bootstraps (installs missing tools, skips present ones) before it runs.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help
SUITES := fmt clippy clippy-wasm native postgres cluster bench browser package js e2e

.PHONY: help bootstrap test demo demo-cluster bench $(addprefix test-,$(SUITES))

help:
	@echo "make demo       build the npm package and the Kanban example, run the reference server"
	@echo "make test       bootstrap, then every suite; fails at the first failing suite"
	@echo "make bootstrap  install missing tools only"
	@echo "make test-SUITE one suite after the bootstrap: $(SUITES)"
	@echo "make demo-cluster  the demo on 3 cluster nodes behind HAProxy (PostgreSQL, Redis; CLUSTER.md)"
	@echo "make bench      benchmarks beside their peers (README.md, Benchmarks; ~15 min)"

bootstrap:
	@scripts/bootstrap.sh

test: bootstrap
	@scripts/test.sh all

demo: bootstrap
	@scripts/demo.sh

demo-cluster: bootstrap
	@scripts/demo-cluster.sh

bench: bootstrap
	@bench/run.sh

$(addprefix test-,$(SUITES)): test-%: bootstrap
	@scripts/test.sh $*
