# shenbao-toolkit — `make demo` and `make test` work on a fresh Debian machine with Python 3.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUT    := out
FORMS   = $(patsubst samples/%.json,%,$(wildcard samples/*.json))

.PHONY: demo test install lint clean system

install: system $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

# LibreOffice, poppler and the open fonts that stand in for the customary Chinese ones (see fonts/fonts.conf and
# toolkit/convert.py), once: apt only for what is missing (as root, or through sudo), and FandolFang (仿宋) taken
# alone out of the texlive-lang-chinese .deb into .fonts/fandol, without installing TeX. The marker makes a second
# run instant; delete it to check again. LibreOffice Calc: the tests make real .xls and .ods sheets with it.
SYSTEM_PACKAGES := libreoffice-writer-nogui libreoffice-calc-nogui fonts-noto-cjk fonts-noto-cjk-extra \
                   fonts-arphic-gkai00mp poppler-utils fontconfig fonts-liberation
FONTS := .fonts
SUDO  := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

system: $(FONTS)/.installed

$(FONTS)/.installed:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q ' installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "system: installing" $$missing; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$(SYSTEM_PACKAGES) || exit 1; \
	fi
	@if ! ls $(FONTS)/fandol/FandolFang-Regular.otf >/dev/null 2>&1; then \
		echo "system: FandolFang from texlive-lang-chinese"; \
		tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
		sandbox=$$([ "$$(id -u)" = 0 ] && echo '-o APT::Sandbox::User=root'); \
		download() { (cd "$$tmp" && apt-get -qq $$sandbox download texlive-lang-chinese); }; \
		{ download || { $(SUDO) apt-get update -qq && download; }; } && \
		dpkg -x "$$tmp"/texlive-lang-chinese_*.deb "$$tmp/x" && \
		mkdir -p $(FONTS)/fandol && \
		find "$$tmp/x" -name 'Fandol*.otf' -exec cp {} $(FONTS)/fandol/ \; && \
		test -f $(FONTS)/fandol/FandolFang-Regular.otf || { echo "system: FandolFang not found" >&2; exit 1; }; \
	fi
	@touch $@

# The main job on every sample: the catalogue, a blank form, each sample checked against its policy and rendered
# as Word, PDF and a PNG of page 1, each form's PDF read back into JSON; an empty office profile; an approval and
# a rejection notice decided from applications with the example office profile and each decision's facts;
# 20 certificates from a sheet in one batch, merged and zipped.
demo: install
	mkdir -p $(OUT)/validation $(OUT)/skeletons $(OUT)/documents
	$(BIN)/shenbao forms | tee $(OUT)/forms.txt
	@for id in $(FORMS); do \
		$(BIN)/shenbao skeleton $$id > $(OUT)/skeletons/$$id.json || exit 1; \
		$(BIN)/shenbao validate $$id samples/$$id.json || exit 1; \
		$(BIN)/shenbao validate --json $$id samples/$$id.json > $(OUT)/validation/$$id.json || exit 1; \
		$(BIN)/shenbao render $$id samples/$$id.json -o $(OUT)/documents/$$id.docx || exit 1; \
	done
	rm -f $(OUT)/office.toml && $(BIN)/shenbao office init -o $(OUT)/office.toml  # what an office fills in once
	$(BIN)/shenbao decide tj-high-tech-enterprise-application samples/tj-high-tech-enterprise-application.json \
		--office examples/office.toml --decision examples/recognition-decision.json \
		-o $(OUT)/documents/decision-approved.docx
	$(BIN)/shenbao decide tj-high-tech-enterprise-application \
		examples/tj-high-tech-enterprise-application.failing.json --office examples/office.toml \
		--decision examples/rejection-decision.json -o $(OUT)/documents/decision-rejected.docx; \
		test $$? -eq 1  # the example fails three rules: a 不予通过通知 citing them, exit 1
	$(BIN)/shenbao batch tj-high-tech-certificate examples/tj-high-tech-certificates.csv -o $(OUT)/batch \
		--name '{certificate_number}-{enterprise.name}' --merge $(OUT)/batch-all.docx --zip $(OUT)/batch.zip --quiet
	$(BIN)/shenbao convert --png $(OUT)/documents/*.docx
	mkdir -p $(OUT)/extracted
	@ids=$$($(BIN)/python -c 'import toolkit; print(*(f.id for f in toolkit.forms() if not f.is_notice))') || exit 1; \
	for id in $$ids; do \
		$(BIN)/shenbao extract $$id $(OUT)/documents/$$id.pdf -o $(OUT)/extracted/$$id.json -j 1 || exit 1; \
		echo "extract: $(OUT)/documents/$$id.pdf → $(OUT)/extracted/$$id.json"; \
	done
	@echo "demo: reports, documents (.docx, .pdf, .png of page 1) and data read back from the PDFs in $(OUT)/"

lint: install
	$(BIN)/ruff check toolkit tests bench

test: install lint
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) $(OUT) build dist *.egg-info
