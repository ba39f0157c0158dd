# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The exact versions the whole suite last passed with: every install uses them, so a
# fresh machine gets a known-green set. `make lock` refreshes them (see README).
LOCK := constraints.txt
EXTRAS := .[course,grader,distributed,dev]
LATEST := .venv-latest
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
ASSIGNMENT ?=
SUBMISSIONS ?=

.PHONY: demo test test-latest lock bubblewrap formgrader lint bench train grade release lab html browser clean fuzz playground

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install when the project's metadata changes. bubblewrap (Debian's `bwrap`) is the
# sandbox the grader runs student code in.
$(STAMP): $(BIN)/python pyproject.toml $(LOCK)
	@$(MAKE) --no-print-directory bubblewrap
	$(BIN)/python -m pip install --quiet -c $(LOCK) pip
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '$(EXTRAS)'
	touch $(STAMP)

bubblewrap:
	@command -v bwrap >/dev/null || $(SUDO) apt-get install -y -q bubblewrap >/dev/null 2>&1 \
		|| ($(SUDO) apt-get update -q >/dev/null && $(SUDO) apt-get install -y -q bubblewrap) \
		|| echo "warning: could not install bubblewrap; grading will run without a sandbox"

# The instructor's main job, end to end, on the bundled sample submissions.
demo: $(STAMP)
	$(BIN)/python -m autograder demo

# Debian's Chromium for tests/test_browser.py (the test installs it too when missing).
browser:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get install -y -q chromium >/dev/null 2>&1 \
		|| { $(SUDO) apt-get update -q >/dev/null && $(SUDO) apt-get install -y -q chromium >/dev/null; } \
		|| echo "warning: could not install Debian's chromium; tests/test_browser.py will try again and say why"; }

# pytest-xdist: TEST_WORKERS processes, each running whole files (a file's fixtures are
# built once); much of the suite waits on kernels, sandboxes and browsers, so 2 workers
# on 2 cores take about 0.6 of the time of one. TEST_WORKERS=0 runs in this process.
TEST_WORKERS ?= 2
test: $(STAMP) browser lint
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=25 -n $(TEST_WORKERS) \
		--dist loadfile tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

# The newest releases pyproject.toml allows, in a separate environment ($(LATEST)), with
# the whole suite: finds drift before a fresh machine does. The lock is not used here.
test-latest: browser bubblewrap
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --upgrade pip
	$(LATEST)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '$(EXTRAS)'
	$(LATEST)/bin/ruff check solutions tests autograder assignments/checks.py course tools
	$(LATEST)/bin/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile tests; \
		rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

# Refresh the lock: run the suite on the newest releases, and only if it passes write
# their exact versions to $(LOCK) (review and commit the diff).
lock: test-latest
	{ echo "# The versions the whole suite last passed with (make lock writes this file)."; \
	  echo "# Installs use it as pip constraints: make demo, make test, CI."; \
	  $(LATEST)/bin/python -m pip freeze --all --exclude-editable | sort -f; } > $(LOCK)
	@echo "$(LOCK) refreshed from $(LATEST); review with git diff $(LOCK)"

lint: $(STAMP)
	$(BIN)/ruff check solutions tests autograder assignments/checks.py assignments/*/build.py course tools

# make grade ASSIGNMENT=conv_naive SUBMISSIONS=path/to/submitted
grade: $(STAMP)
	@test -n "$(ASSIGNMENT)" -a -n "$(SUBMISSIONS)" || \
		{ echo "usage: make grade ASSIGNMENT=<name> SUBMISSIONS=<dir or .zip>"; exit 2; }
	$(BIN)/python -m autograder grade $(ASSIGNMENT) $(SUBMISSIONS)

# Generated classes of the five assignments graded and checked (tests/submission_fuzzer.py):
# make fuzz FUZZ_CLASSES=300 (classes per assignment); prints what was generated, how
# each was graded and the invariants broken.
FUZZ_CLASSES ?= 20
FUZZ_ARGS ?=
fuzz: $(STAMP)
	$(BIN)/python tests/submission_fuzzer.py --classes $(FUZZ_CLASSES) --assignments all $(FUZZ_ARGS)

release: $(STAMP)
	$(BIN)/python -m autograder build

bench: $(STAMP)
	$(BIN)/python -m convnets.bench --recalibrate

train: $(STAMP)
	$(BIN)/python -m convnets train --dataset digits

lab: $(STAMP)
	JUPYTER_CONFIG_PATH=$(CURDIR)/tools/jupyter $(BIN)/jupyter lab course

# The instructor's formgrader (JupyterLab with nbgrader's panels) on the course folder
# that make release / make grade fill; its Autograde button grades through the sandbox.
formgrader: $(STAMP)
	@test -f out/course/nbgrader_config.py || $(BIN)/python -m autograder build
	cd out/course && JUPYTER_CONFIG_PATH=$(CURDIR)/tools/jupyter $(CURDIR)/$(BIN)/jupyter lab

# The ConvNet playground as a page of its own (Voila): the widget without the notebook,
# for a projector. make playground PLAYGROUND_ARGS="--data mnist:path --port 8866"
PLAYGROUND_ARGS ?=
playground: $(STAMP)
	$(BIN)/python -m convnets.playground.page $(PLAYGROUND_ARGS)

# The lessons as static HTML (out/html/index.html).
html: $(STAMP)
	$(BIN)/python tools/build_html.py

clean:
	rm -rf $(VENV) $(LATEST) out .pytest_cache .ruff_cache
