PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# the exact releases make installs (tools/lock.py); pyproject.toml keeps the ranges
CONSTRAINTS := constraints.txt
LATEST := .venv-latest
LINTED := spillover tests analyses benchmarks tools

.PHONY: test test-slow test-latest analyses lint lock data bench clean readme-images

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e '.[test,bench]'
	touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/lint-imports

test: lint
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

# The same lint and suite on the newest releases pyproject.toml admits (no constraints),
# in a venv of its own: a new pandas or scipy release is caught the day it ships.
test-latest:
	test -x $(LATEST)/bin/python || $(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --upgrade pip
	$(LATEST)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager \
		-e '.[test,bench]'
	@echo "releases that differ from $(CONSTRAINTS) (< locked, > newest):"
	@grep -v '^#' $(CONSTRAINTS) | sort -f > $(LATEST)/locked.txt
	@$(LATEST)/bin/python -m pip freeze --exclude-editable | sort -f \
		| diff $(LATEST)/locked.txt - | grep '^[<>]' || true
	$(LATEST)/bin/ruff check $(LINTED)
	$(LATEST)/bin/lint-imports
	$(LATEST)/bin/python -m pytest -q

# Re-resolve constraints.txt to the newest releases the ranges admit (x86-64 and aarch64
# wheels for CPython 3.11); then `make test` reinstalls from it. Commit it if that passes.
lock: $(STAMP)
	$(PY) tools/lock.py

# One target per study, named after its module with dashes: `make cluster-learning-survey`.
# A study reruns only when one of its inputs changed: its done-mark depends on the environment,
# its module and every file listed in the .inputs.mk that analyses/run_all.py writes after a
# successful run (each spillover module and data file the study loaded).
STUDY_MODULES := $(basename $(notdir $(filter-out analyses/_% analyses/run_all.py,\
	$(wildcard analyses/*.py))))
STUDIES := $(subst _,-,$(STUDY_MODULES))
STUDY_DONE := $(foreach m,$(STUDY_MODULES),analyses/output/$(m)/.done)

analyses: $(STUDY_DONE)

analyses/output/%/.done: analyses/%.py $(STAMP)
	$(PY) -m analyses.run_all $*
	touch $@

-include $(wildcard analyses/output/*/.inputs.mk)

.SECONDEXPANSION:
.PHONY: $(STUDIES)
$(STUDIES): analyses/output/$$(subst -,_,$$@)/.done

# The README's images: each study's featured figure (its module's FIGURE), the map, and the
# regression and effects tables compiled by pdflatex and rasterised by pdftoppm.
readme-images: analyses
	$(PY) -m tools.readme_images
	$(PY) -m tools.readme_map
	$(PY) -m tools.readme_tables

data: $(STAMP)
	$(PY) data/build.py

bench: $(STAMP)
	$(PY) -m benchmarks.run_all

clean:
	rm -rf $(VENV) $(LATEST) analyses/output .pytest_cache

# Every table and figure under analyses/output in one PDF (after rerunning the analyses whose
# inputs changed); fails on any overfull box or oversized float in the pdflatex log.
.PHONY: report
report: analyses
	$(PY) -m analyses._report
