# The two commands of the README:
#   make demo    build (release) and run the main job
#   make check   build with ASan+UBSan and run every test through CTest
# Other targets: make build, make bench, make clang (warnings-as-errors build with clang), make clean.

JOBS  ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE ?= cmake

.PHONY: all build demo check bench clang clean fuzz

all: build

build:
	@scripts/deps.sh build
	$(CMAKE) -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DNTMM_TESTS=OFF >/dev/null
	$(CMAKE) --build build/release -j $(JOBS)

demo: build
	./build/release/tools/ntmm demo

# The threaded tests (label "threads") under TSan, then every test under ASan+UBSan.
check:
	@scripts/deps.sh check
	$(CMAKE) -S . -B build/tsan -DCMAKE_BUILD_TYPE=Debug -DNTMM_SANITIZE=thread -DNTMM_BENCH=OFF >/dev/null
	$(CMAKE) --build build/tsan -j $(JOBS) --target test_threads test_zero_thread test_vm_threads
	cd build/tsan && ctest --output-on-failure -L threads
	$(CMAKE) -S . -B build/check -DCMAKE_BUILD_TYPE=Debug -DNTMM_SANITIZE=address >/dev/null
	$(CMAKE) --build build/check -j $(JOBS)
	cd build/check && ctest --output-on-failure -j $(JOBS)

# The benchmarks, as shipped (TLB hit counting on) and with NTMM_STATS=OFF.
bench:
	@scripts/deps.sh bench
	$(CMAKE) -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DNTMM_TESTS=OFF >/dev/null
	$(CMAKE) --build build/release -j $(JOBS)
	$(CMAKE) -S . -B build/bench-nostats -DCMAKE_BUILD_TYPE=Release -DNTMM_TESTS=OFF -DNTMM_STATS=OFF >/dev/null
	$(CMAKE) --build build/bench-nostats -j $(JOBS) --target bench_mmu
	./build/release/bench/bench_mmu
	./build/release/bench/bench_pfn
	./build/release/bench/bench_vm
	./build/bench-nostats/bench/bench_mmu

clang:
	@scripts/deps.sh check
	CC=clang $(CMAKE) -S . -B build/clang -DCMAKE_BUILD_TYPE=Debug >/dev/null
	$(CMAKE) --build build/clang -j $(JOBS)

# The libFuzzer target over the VM API (tests/fuzz/fuzz_vm.c) with ASan+UBSan, for
# FUZZ_SECONDS, on the corpus build/fuzz/corpus (seeded from tests/fuzz/corpus); crashes are
# written to build/fuzz/artifacts/. Replay one with: build/fuzz/tests/fuzz/fuzz_vm FILE
FUZZ_SECONDS ?= 60
FUZZ_ARGS ?=
fuzz:
	@scripts/deps.sh fuzz
	CC=clang $(CMAKE) -S . -B build/fuzz -DCMAKE_BUILD_TYPE=Debug -DNTMM_SANITIZE=address -DNTMM_FUZZ=ON \
	    -DNTMM_BENCH=OFF -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link >/dev/null
	$(CMAKE) --build build/fuzz -j $(JOBS) --target fuzz_vm
	mkdir -p build/fuzz/corpus build/fuzz/artifacts
	./build/fuzz/tests/fuzz/fuzz_vm -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=30 $(FUZZ_ARGS) \
	    -artifact_prefix=build/fuzz/artifacts/ build/fuzz/corpus tests/fuzz/corpus

clean:
	rm -rf build
