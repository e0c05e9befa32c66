# memdev: `make train tune submit` on a Kaggle anomaly-detection competition.
# Stages are chained as file targets: a stage re-runs only when its inputs or
# the competition's config (or tuned parameters) changed.

COMP    ?= demo
ZIP     ?=
TRIALS  ?= 6
TIMEOUT ?=
STORAGE ?=
MSG     ?=
FILE    ?=
SCORE   ?=
SOLUTION ?=
METRIC  ?=
KAGGLE  ?= 0
VERBOSE ?= 0

PYTHON  ?= $(shell command -v python3.11 || command -v python3)
VENV    := .venv
PY      := $(VENV)/bin/python
MEMDEV  := $(PY) -m memdev$(if $(filter 1,$(VERBOSE)), --verbose)
# each stage says what it did; VERBOSE=1 also shows the commands
Q       := $(if $(filter 1,$(VERBOSE)),,@)
READY   := $(VENV)/.installed

D        := data/$(COMP)
CONFIG   := $(D)/config.yaml
# each table as shipped: <name>.parquet where there is one, else <name>.csv (as memdev reads them)
table     = $(firstword $(wildcard $(D)/raw/$(1).parquet) $(D)/raw/$(1).csv)
RAW      := $(foreach name,train test sample_submission,$(call table,$(name)))
FEATURES := $(D)/features/X_train.npy
PRETRAIN := $(D)/models/pretrain.json
CV       := $(D)/models/cv.json
PARAMS   := $(wildcard $(D)/best_params.yaml)

.DEFAULT_GOAL := help
.PHONY: help data preprocess pretrain finetune train tune submit report status dashboard lb score test bench clean venv

help: ## list every target (this message)
	@echo "usage: make TARGET [COMP=slug] [ZIP=path.zip] [TRIALS=n] [TIMEOUT=s] [STORAGE=url] [MSG=text] [KAGGLE=1] [VERBOSE=1] [lb: SCORE=n FILE=x.csv] [score: SOLUTION=path FILE=x.csv METRIC=name]"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-11s %s\n", $$1, $$2}'

venv: $(READY) ## create .venv from the pinned requirements.txt

$(READY): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

data: $(READY) ## bring in COMP: ZIP=path.zip, else the kaggle CLI (COMP=demo: the built-in demo)
	$(Q)$(MEMDEV) data --comp $(COMP) $(if $(ZIP),--zip $(ZIP))

$(CONFIG) $(RAW) &: | $(READY)
	$(Q)$(MEMDEV) data --comp $(COMP) $(if $(ZIP),--zip $(ZIP))

preprocess: $(FEATURES) ## fit the feature transformer on the train table (.csv or .parquet); write float32 features

$(FEATURES): $(RAW) $(CONFIG) | $(READY)
	$(Q)$(MEMDEV) preprocess --comp $(COMP)

pretrain: $(PRETRAIN) ## one MemAE per CV fold on rows not labeled anomalous; runs with finetune (`memdev fit`)

finetune: $(CV) ## DevNet heads on the frozen fold MemAEs: out-of-fold and test scores, CV table, threshold

# both stages in one process: TensorFlow's start-up (seconds) is paid once
$(PRETRAIN) $(CV) &: $(FEATURES) $(CONFIG) $(PARAMS)
	$(Q)$(MEMDEV) fit --comp $(COMP)

train: $(CV) ## all of the above, each only if its inputs changed

tune: $(FEATURES) ## add TRIALS Optuna trials (TIMEOUT=s, STORAGE=url; none with few or no labels); best params feed `make train`
	$(Q)$(MEMDEV) tune --comp $(COMP) --trials $(TRIALS) $(if $(TIMEOUT),--timeout $(TIMEOUT)) $(if $(STORAGE),--storage "$(STORAGE)")

submit: $(READY) ## (re)train if needed, then from the stored test scores write submissions/COMP/<time>_<metric>-<cv>.csv + ledger row (KAGGLE=1: upload)
	@$(MAKE) --no-print-directory -s train COMP=$(COMP) ZIP=$(ZIP)
	@$(MEMDEV) submit --comp $(COMP) --message "$(MSG)" $(if $(filter 1,$(KAGGLE)),--kaggle)

report: $(CV) ## data/COMP/reports/index.md: CV table and figures, the four studies, Optuna plots, CV vs leaderboard
	$(Q)$(MEMDEV) report --studies --comp $(COMP)

status: $(READY) ## one screen: the data, each stage up to date or stale (and why), model and CV, study, submissions
	@$(MEMDEV) status --comp $(COMP) $(if $(STORAGE),--storage "$(STORAGE)")

dashboard: $(READY) ## optuna-dashboard on COMP's study (STORAGE=url) at 127.0.0.1 and a free port; Ctrl-C stops it
	@$(MEMDEV) dashboard --comp $(COMP) $(if $(STORAGE),--storage "$(STORAGE)")

lb: $(READY) ## fill public scores into the ledger from Kaggle (or by hand: SCORE=0.81 FILE=submissions/COMP/x.csv, a number COMP's metric can give)
	$(Q)$(MEMDEV) lb --comp $(COMP) $(if $(SCORE),--score $(SCORE)) $(if $(FILE),--file $(FILE))

# COMP goes with FILE only where it was given (not the default demo): else FILE's submissions/<slug>/ names it
score: $(READY) ## local leaderboard by the config's metric (METRIC=name to choose): SOLUTION=solution.csv against FILE=x.csv, or every ledger row of COMP
	$(if $(SOLUTION),,$(error make score: pass SOLUTION=path, the solution CSV to score against))
	$(Q)$(MEMDEV) score $(if $(FILE),$(FILE) $(if $(filter-out file,$(origin COMP)),--comp $(COMP)),--comp $(COMP)) $(SOLUTION) $(if $(METRIC),--metric $(METRIC))

bench: $(READY) ## pipeline vs IsolationForest/HGB anchors on ../shared/competitions (BENCH_COMPS=a,b); writes BENCHMARKS.md
	$(PY) -m memdev.bench $(if $(BENCH_COMPS),--comps $(BENCH_COMPS))

test: $(READY) ## run the whole test suite (what CI runs)
	$(PY) -m pytest

clean: ## delete what was derived for COMP (keeps raw files, config and submissions)
	rm -rf $(D)/features $(D)/models $(D)/reports $(D)/manifest.json
