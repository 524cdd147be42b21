# Flowgate's two commands; both create and update .venv themselves.
.PHONY: run test lint help

help:
	@echo "make run   install, migrate, create the demo tenant and key, serve web + worker (Ctrl-C stops)"
	@echo "make test  run the whole test suite (PostgreSQL and Redis when present, else the embedded default)"
	@echo "make lint  ruff"

run:
	@bash scripts/run.sh $(ARGS)

test:
	@bash scripts/test.sh $(ARGS)

lint:
	@.venv/bin/ruff check .
