# `make test` and `make demo` both (re)build the virtual environment in .venv/ when setup.py or
# constraints.txt changed, install the project into it, then run.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test test-fast test-isa demo demo-data effect-data bench clean

venv: $(STAMP)

$(STAMP): setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -c constraints.txt -e ".[cpu,test]"
	$(PY) scripts/build_ops.py
	touch $(STAMP)

# The whole suite, then the exactness tests again under other instruction sets (test-isa).
test: $(STAMP)
	$(PY) -m pytest -q
	$(MAKE) --no-print-directory test-isa

# oneDNN picks convolution kernels, and so the order of float32 sums, by instruction set: the tests marked
# exactness (the upgrade against its float32 bound) run again as on an AVX2-only and an SSE4.1-only processor.
# The suite above ran under whatever this machine offers (ALL). MXNet computes with one OpenMP thread per two
# cores, so the instruction sets run side by side, each into its log, shown when both are done (about 5 minutes).
ISAS ?= AVX2 SSE41
test-isa: $(STAMP)
	@for isa in $(ISAS); do \
		(DNNL_MAX_CPU_ISA=$$isa $(PY) -m pytest -q -m exactness -p no:cacheprovider > .test-isa-$$isa.log 2>&1; \
		 echo $$? > .test-isa-$$isa.rc) & \
	done; wait; status=0; \
	for isa in $(ISAS); do \
		echo "exactness tests under DNNL_MAX_CPU_ISA=$$isa"; cat .test-isa-$$isa.log; \
		[ "$$(cat .test-isa-$$isa.rc)" = 0 ] || status=1; rm -f .test-isa-$$isa.log .test-isa-$$isa.rc; \
	done; exit $$status

# The edit-test loop: everything but the end-to-end tests marked slow (about a minute on 2 cores).
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow" -q

# The demo data set in both layouts (seconds), its statistics, the pretrained backbone (about 75 s, cached in
# ~/.cache/gluon-upgrade/backbone/) and a picture of annotated training images.
demo-data: $(STAMP)
	$(PY) scripts/make_demo_data.py --output data/demo/voc --format voc --overwrite --report results/demo/dataset_voc.md
	$(PY) scripts/make_demo_data.py --output data/demo/coco --format coco --overwrite \
		--report results/demo/dataset_coco.md
	$(PY) scripts/pretrain_backbone.py --report results/demo/pretrain_backbone.md
	$(PY) scripts/show_data.py --config configs/demo/ssd_voc.yaml --num 8 --out results/demo/demo_train_samples.png

# The effect study's data cells (configs/demo/effect/data_*.yaml): the demo set drawn at deformation 0.3 and 1.0
# (the same scenes as data/demo/voc, less and more deformed), their statistics and the same 8 training images.
effect-data: $(STAMP)
	$(PY) scripts/make_demo_data.py --output data/demo/voc_deform0.3 --deformation 0.3 --overwrite \
		--report results/demo/dataset_voc_deform0.3.md
	$(PY) scripts/make_demo_data.py --output data/demo/voc_deform1.0 --deformation 1.0 --overwrite \
		--report results/demo/dataset_voc_deform1.0.md
	for strength in 0.3 1.0; do $(PY) scripts/show_data.py --config configs/demo/ssd_voc.yaml --num 8 \
		--set data.root=data/demo/voc_deform$$strength --out results/demo/demo_train_samples_deform$$strength.png; done

# The paper's Table II and Fig. 4 with the control on the demo data (about 8 minutes on 2 cores):
# results/demo/table2.md and curves. `python scripts/table2.py --seeds 5` adds the seed table (about an hour more).
demo: demo-data
	$(PY) scripts/upgrade.py --model ssd_512_resnet50_v1_voc --random-init --layers last3 \
		--verify --report results/demo/upgrade_ssd512.json
	$(PY) scripts/table2.py

bench: $(STAMP) demo-data
	$(PY) benchmarks/bench_upgrade.py
	$(PY) benchmarks/bench_train_loop.py --config configs/demo/ssd_voc.yaml --set model.data_shape=160
	$(PY) benchmarks/bench_dcn_layer.py
	$(PY) benchmarks/bench_models.py
	$(PY) benchmarks/bench_map_size.py

clean:
	rm -rf $(VENV) .pytest_cache
