# Two entry points for a fresh Debian machine: `make run` (default experiment) and `make test`.
BUILD   ?= build
JOBS    ?= 2
CONFIG  ?= configs/default.json
OUT     ?= runs/default
CMAKE_FLAGS ?=

PACKAGES = cmake g++ make libtorch-dev libhdf5-dev nlohmann-json3-dev libgtest-dev libcli11-dev \
           libspdlog-dev libfmt-dev libbenchmark-dev gnuplot-nox zlib1g-dev clang-format \
           libopenblas0-openmp python3-torch python3-h5py libgloo-dev

.PHONY: deps configure build run test bench format clean

deps:
	@bash cmake/install-deps.sh $(PACKAGES)

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j$(JOBS)

run: build
	$(BUILD)/bin/blockspin observe --config $(CONFIG) --out $(OUT) --force

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

bench: build
	$(BUILD)/bin/bench_lattice --benchmark_counters_tabular=true
	$(BUILD)/bin/bench_monte_carlo --benchmark_counters_tabular=true
	$(BUILD)/bin/bench_lcnn --benchmark_counters_tabular=true
	$(BUILD)/bin/bench_fp --benchmark_counters_tabular=true
	$(BUILD)/bin/bench_flows --benchmark_counters_tabular=true

format:
	find support lattice lcnn flows io run apps tests -name '*.cpp' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
