# shenbao-toolkit — `make demo` and `make test` work on a fresh Debian machine with Python 3.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUT    := out
FORMS   = $(patsubst samples/%.json,%,$(wildcard samples/*.json))

.PHONY: demo test install lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

# The main job on every sample: the catalogue, a blank form, and each sample checked against its policy.
demo: install
	mkdir -p $(OUT)/validation $(OUT)/skeletons
	$(BIN)/shenbao forms | tee $(OUT)/forms.txt
	@for id in $(FORMS); do \
		$(BIN)/shenbao skeleton $$id > $(OUT)/skeletons/$$id.json || exit 1; \
		$(BIN)/shenbao validate $$id samples/$$id.json || exit 1; \
		$(BIN)/shenbao validate --json $$id samples/$$id.json > $(OUT)/validation/$$id.json || exit 1; \
	done
	@echo "demo: reports written to $(OUT)/"

lint: install
	$(BIN)/ruff check toolkit tests bench

test: install lint
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) $(OUT) build dist *.egg-info
