# Flowgate's two commands; both create and update .venv themselves.
.PHONY: run test bench reliability lint constraints help

help:
	@echo "make run   install, migrate, create the demo tenant and key, serve web + worker (Ctrl-C stops)"
	@echo "make test  run the whole test suite (PostgreSQL and Redis when present, else the embedded default)"
	@echo "make bench Flowgate's engine against bare Celery, and every list at 10k and 1M executions (ARGS=--quick for a smoke run)"
	@echo "make reliability  kill workers, stop Redis, restart PostgreSQL under load; print what was lost (ARGS=--quick)"
	@echo "make lint  ruff"

run:
	@bash scripts/run.sh $(ARGS)

test:
	@bash scripts/test.sh $(ARGS)

bench:
	@bash scripts/bench.sh $(ARGS)

reliability:
	@bash scripts/reliability.sh $(ARGS)

lint:
	@.venv/bin/ruff check .

# Re-pin constraints.txt from a fresh install of pyproject.toml's dependencies and test extra.
constraints:
	@rm -rf /tmp/flowgate-pin && python3 -m venv /tmp/flowgate-pin
	@/tmp/flowgate-pin/bin/pip install -q -e ".[test]"
	@{ sed -n '1,2p' constraints.txt; /tmp/flowgate-pin/bin/pip freeze --exclude-editable; } > constraints.txt.new
	@mv constraints.txt.new constraints.txt && rm -rf /tmp/flowgate-pin && echo "constraints.txt updated"
