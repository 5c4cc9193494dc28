# The two entry points of the README. Both install missing Debian packages, configure and build.
#   make demo   - the whole study on generated GOD-shaped data (brainsem demo)
#   make test   - the test suite (ctest)
#   make fuzz   - the readers' fuzz targets, 20 s each (scripts/fuzz.sh; clang + libFuzzer)
BUILD ?= build
JOBS ?= $(shell nproc)
DEMO_DIR ?= demo-runs/$(shell date +%Y%m%d-%H%M%S)
DEMO_ARGS ?=
CMAKE_ARGS ?=

.PHONY: deps configure build demo test fuzz bench clean

deps:
	./scripts/install_deps.sh

configure: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/brainsem demo --out $(DEMO_DIR) $(DEMO_ARGS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

fuzz:
	./scripts/install_deps.sh --fuzz
	./scripts/fuzz.sh

bench: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DBRAINSEM_BUILD_BENCH=ON
	cmake --build $(BUILD) -j $(JOBS)
	./bench/run_benchmarks.sh $(BUILD)

clean:
	rm -rf $(BUILD)
