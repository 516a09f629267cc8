# The README's two commands: `make run` and `make test`. Each installs what is missing.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
# Debian packages: the speech engine, ffmpeg, and (for the tests) the validators.
RUN_PACKAGES := espeak-ng ffmpeg
TEST_PACKAGES := $(RUN_PACKAGES) chromium epubcheck default-jre-headless nodejs
# Ace by DAISY, the EPUB accessibility checker (for the tests): npm installs this version
# into .tools/ace/ (ignored by git); it drives Debian's Chromium, so puppeteer downloads none.
ACE_VERSION := 1.4.6
ACE_STAMP := .tools/ace/.installed-$(ACE_VERSION)

.PHONY: run test test-fast bench lint system-run system-test apt

run: system-run $(STAMP)
	$(VENV)/bin/audio-edition build

test: system-test $(STAMP) $(ACE_STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not integration"

bench: system-run $(STAMP)
	$(PY) tests/bench.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

system-run:
	@$(MAKE) --no-print-directory apt PACKAGES="$(RUN_PACKAGES)"

system-test:
	@$(MAKE) --no-print-directory apt PACKAGES="$(TEST_PACKAGES)"

# Install only the Debian packages that are missing (apt-get update once, first).
apt:
	@missing=$$(for p in $(PACKAGES) python3-venv; do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:" $$missing; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# Debian's nodejs comes without npm (NodeSource's has it): install npm only if missing.
$(ACE_STAMP): | system-test
	@command -v npm >/dev/null || $(MAKE) --no-print-directory apt PACKAGES=npm
	@rm -rf .tools/ace && mkdir -p .tools/ace
	PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix .tools/ace --save-exact --no-audit \
	  --no-fund --loglevel=error @daisy/ace-cli@$(ACE_VERSION)
	@touch $@

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,natural,cluster]'
	@rm -f $(VENV)/.installed-* && touch $@
