# shenbao-toolkit — `make demo` and `make test` work on a fresh Debian machine with Python 3.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOWEST := .venv-lowest
# the extras of pyproject.toml installed in both .venv and .venv-lowest (.venv has dev too: uv)
EXTRAS := test
OUT    := out
LEDGER := $(OUT)/ledger/ledger.db
FORMS   = $(patsubst samples/%.json,%,$(wildcard samples/*.json))

.PHONY: demo test test-lowest install lint clean system constraints

install: system $(VENV)/.installed

# .venv (and so CI) gets the versions pinned in constraints.txt, the same on every machine until `make constraints`
# is run again; the wheel keeps the ranges of pyproject.toml.
$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[$(EXTRAS),ocr,cluster,dev]'
	touch $@

$(BIN)/uv:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt uv

# constraints.txt again after a change of pyproject.toml: the pins it has are kept where they still fit;
# `make constraints UPGRADE=1` takes the newest versions instead.
constraints: $(BIN)/uv
	$(BIN)/uv pip compile --quiet --universal --python-version 3.11 --all-extras \
		$(if $(UPGRADE),--upgrade) --custom-compile-command 'make constraints' -o constraints.txt pyproject.toml

# LibreOffice, poppler and the open fonts that stand in for the customary Chinese ones (see fonts/fonts.conf and
# toolkit/convert.py), once: apt only for what is missing (as root, or through sudo), and FandolFang (仿宋) taken
# alone out of the texlive-lang-chinese .deb into .fonts/fandol, without installing TeX. The marker makes a second
# run instant; delete it to check again. LibreOffice Calc: the tests make real .xls and .ods sheets with it.
# PostgreSQL: the ledger's tests start a throwaway server of their own (tests/test_ledger.py), never the system's.
# Chromium: the web application's browser tests (Playwright drives Debian's build; no browser is downloaded), with
# its language packs (chromium-l10n) so that it shows the pages as a Chinese browser does (年/月/日 in date fields).
# python3-uno: the pool of long-lived LibreOffice workers (toolkit/office_pool.py) talks to them over UNO.
SYSTEM_PACKAGES := libreoffice-writer-nogui libreoffice-calc-nogui fonts-noto-cjk fonts-noto-cjk-extra \
                   fonts-arphic-gkai00mp poppler-utils fontconfig fonts-liberation postgresql chromium chromium-l10n \
                   python3-uno
FONTS := .fonts
SUDO  := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

system: $(FONTS)/.installed

$(FONTS)/.installed: Makefile  # again when the list of packages changes (a second run asks dpkg only)
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
# 20 certificates from a sheet in one batch, merged and zipped; then the ledger (台账): the demo's own PDFs, one
# submitted twice, a broken file and an ineligible application taken in, decided, exported to Excel and answered
# with notices numbered by the ledger (a rerun issues nothing twice), every step shown by `ledger history`; then the
# web application on that ledger, toured in headless Chromium: a screenshot of each page in out/web/.
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
	rm -rf $(OUT)/ledger && mkdir -p $(OUT)/ledger/inbox
	cp $(OUT)/documents/tj-high-tech-enterprise-application.pdf $(OUT)/ledger/inbox/01-haitai.pdf
	cp $(OUT)/documents/tj-high-tech-enterprise-application.pdf $(OUT)/ledger/inbox/02-haitai-again.pdf
	head -c 3000 $(OUT)/documents/tj-productivity-center-application.pdf > $(OUT)/ledger/inbox/03-broken.pdf
	$(BIN)/shenbao render tj-high-tech-enterprise-application examples/ledger-ineligible-application.json --draft \
		-o $(OUT)/ledger/inbox/04-jinnan.docx
	$(BIN)/shenbao intake tj-high-tech-enterprise-application $(OUT)/ledger/inbox --db $(LEDGER) --quiet; \
		test $$? -eq 2  # the broken file is recorded as 无法读取 (exit 2), the copy as 重复, the rest go on
	@ids=$$($(BIN)/python -c 'import toolkit; print(*(f.id for f in toolkit.forms() if not f.is_notice))') || exit 1; \
	for id in $$ids; do \
		[ $$id = tj-high-tech-enterprise-application ] || \
		$(BIN)/shenbao intake $$id $(OUT)/documents/$$id.pdf --db $(LEDGER) --quiet || exit 1; \
	done
	$(BIN)/shenbao ledger decide 1 --approve --by 王科长 --note 专家评审78.5分，公示无异议 --db $(LEDGER)
	$(BIN)/shenbao ledger decide 3 --reject --by 王科长 --note 研发人员和研发费用比例不符合第九条 --db $(LEDGER)
	$(BIN)/shenbao ledger export -o $(OUT)/ledger/ledger.xlsx --db $(LEDGER)
	$(BIN)/shenbao batch tj-high-tech-recognition-notice --from-ledger --status 通过 --db $(LEDGER) \
		--office examples/ledger-office.toml --decision examples/ledger-recognition.json \
		-o $(OUT)/ledger/notices/recognition --quiet
	$(BIN)/shenbao batch rejection-notice --from-ledger --status 不予通过 --db $(LEDGER) \
		--office examples/ledger-office.toml --decision examples/ledger-rejection.json \
		-o $(OUT)/ledger/notices/rejection --quiet
	$(BIN)/shenbao batch tj-high-tech-recognition-notice --from-ledger --status 通过 --db $(LEDGER) \
		--office examples/ledger-office.toml --decision examples/ledger-recognition.json \
		-o $(OUT)/ledger/notices/recognition --quiet  # again: issues nothing twice
	$(BIN)/shenbao ledger list --db $(LEDGER)
	$(BIN)/shenbao ledger history 1 --db $(LEDGER)
	$(BIN)/python examples/web_tour.py --db $(LEDGER) --out $(OUT)/web  # shenbao serve, each page in Chromium
	@echo "demo: reports, documents (.docx, .pdf, .png of page 1) and data read back from the PDFs in $(OUT)/;" \
		"the ledger in $(LEDGER), exported to $(OUT)/ledger/ledger.xlsx, its notices in $(OUT)/ledger/notices/;" \
		"screenshots of the web application (shenbao serve) in $(OUT)/web/"

lint: install
	$(BIN)/ruff check toolkit tests bench
	$(BIN)/mypy toolkit

test: install lint
	$(BIN)/python -m pytest -q
	@$(MAKE) --no-print-directory test-lowest

# The suite again with each direct dependency at the lowest version pyproject.toml allows (uv's lowest-direct; what
# they depend on at the newest that fits): the floors there are tested, not guessed. Built anew when pyproject.toml
# changes, without setuptools (as a Python 3.12 or uv environment is: nothing may lean on pkg_resources), with the
# newest pip for the packaging test.
$(LOWEST)/.installed: pyproject.toml $(BIN)/uv
	rm -rf $(LOWEST)
	$(PYTHON) -m venv --without-pip $(LOWEST)
	$(BIN)/uv pip install --quiet --python $(LOWEST)/bin/python pip
	$(BIN)/uv pip install --quiet --python $(LOWEST)/bin/python --resolution lowest-direct -e '.[$(EXTRAS)]'
	touch $@

test-lowest: system $(LOWEST)/.installed
	@echo "test-lowest: the suite again, each direct dependency at the lowest version pyproject.toml allows:"
	@$(LOWEST)/bin/python -c 'import importlib.metadata as m, re; norm = lambda n: re.sub(r"[-_.]+", "-", n).lower(); \
		have = {norm(d.name): d.version for d in m.distributions()}; \
		names = {norm(re.match(r"[A-Za-z0-9._-]+", r)[0]) for r in m.requires("shenbao-toolkit")}; \
		print(" ", *sorted(f"{n}=={have[n]}" for n in names & have.keys()))'
	@echo "test-lowest: left out here, tested in .venv: tests/test_scans.py and tests/test_cluster.py (the [ocr] and" \
		"[cluster] extras), tests/test_extract_variants.py and tests/test_convert.py (LibreOffice, Chromium and" \
		"poppler exports and the LibreOffice pool: what they test is the system's packages; the readers' floors are" \
		"tested by tests/test_extract.py and tests/test_word_submissions.py), and the QR code's decoding (OpenCV, [ocr])"
	$(LOWEST)/bin/python -m pytest -q -x --ignore=tests/test_scans.py --ignore=tests/test_cluster.py \
		--ignore=tests/test_extract_variants.py --ignore=tests/test_convert.py \
		--deselect=tests/test_signing.py::test_the_qr_code_holds_the_printed_code_and_link

clean:
	rm -rf $(VENV) $(LOWEST) $(OUT) build dist *.egg-info
