# 普法助手 — two commands on a fresh machine: `make run` and `make test`.
# The first interpreter that actually runs and is 3.11 or 3.12 (pyenv shims may exist for versions not installed).
PYTHON ?= $(shell for p in python3.11 python3.12 python3; do \
	if $$p -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 13)))' 2>/dev/null; then \
	command -v $$p; break; fi; done)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
GATEWAY_STAMP := gateway/node_modules/.installed

.PHONY: run test install gateway lint clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "需要 Python 3.11 或 3.12，请先安装"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "正在安装依赖（首次约1-2分钟）……"
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

# The WeChat gateway's Node packages, exactly as locked (the end-to-end tests start it with the mock puppet).
$(GATEWAY_STAMP): gateway/package.json gateway/package-lock.json
	@command -v npm >/dev/null || { echo "需要 Node.js 18 以上和 npm（微信网关和端到端测试要用）"; exit 1; }
	@echo "正在安装微信网关依赖（npm ci，约半分钟）……"
	@cd gateway && npm ci --no-audit --no-fund --loglevel=error
	@touch $(GATEWAY_STAMP)

install: $(STAMP)

gateway: $(GATEWAY_STAMP)

run: $(STAMP)
	@$(BIN)/pufa init --demo
	@$(BIN)/pufa run

test: $(STAMP) $(GATEWAY_STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache gateway/node_modules
