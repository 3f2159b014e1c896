# The front door. `make demo` and `make test` install what is missing, configure, build, and
# run; everything else is plain CMake underneath (build/ holds the build tree).
BUILD     ?= build
JOBS      ?= $(shell nproc)
PREFIX    ?= /usr/local
CMAKE_ARGS ?=

.PHONY: all deps configure build demo test test-asan test-tsan fuzz install bench clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) $(CMAKE_ARGS) > $(BUILD).configure.log 2>&1 || (cat $(BUILD).configure.log; exit 1)

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# The main demo: an MLP learns Fashion-MNIST (examples/fashion_mnist.cpp). It runs inside the
# build folder, so its SVG, CSV and .npz files land there; it prints their paths.
demo: build
	@cd $(BUILD) && examples/fashion_mnist

# Results differ slightly between 1 and 2 BLAS threads; tests run with one.
test: build
	@cd $(BUILD) && OPENBLAS_NUM_THREADS=1 ctest --output-on-failure -j $(JOBS)

# -O1 with line tables for the sanitizer and fuzz builds: quicker to compile than -O3, and
# every report still names file and line.
CHECKED_BUILD_ARGS = -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1"

# The whole test suite built with AddressSanitizer and UndefinedBehaviorSanitizer (build-asan);
# any report fails its test. Left out, by name: the 10-epoch Fashion-MNIST run (run alone, 7 s
# normally but over a minute under ASan; the one-epoch run of test_examples_data covers the
# same code), install_consumer (it builds an outside project against the installed
# libraries, which would then need the sanitizer runtime; it checks packaging, not memory) and
# the documents' output checks (text, whose last digits move without -march=native; the
# programs they run are run by the example tests).
# Also left out: the tests run under mpirun (tapegrad::distributed; their names end in _npN).
# OpenMPI itself leaks at exit (about 120 KB in 3 300 blocks for MPI_Init, one allreduce and
# MPI_Finalize in a program of six lines), from MCA components it has unloaded by then, so that
# LeakSanitizer sees "<unknown module>" frames that no suppression can name. The library and
# its test program are still built here, and every other test runs the command that links it.
ASAN_BUILD   ?= build-asan
ASAN_EXCLUDE ?= ^(example_fashion_mnist_mlp|install_consumer|docs_output_.*|.*_np[0-9]+)$$
SANITIZER_ENV = OPENBLAS_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# Built without -march=native: GCC 12's libasan does not align its fake stack frames (the
# frames detect_stack_use_after_return puts locals in) to 64 bytes, and AVX-512 code loads
# 64-byte-aligned locals with vmovdqa64, a SIGSEGV wherever a frame lands 32 bytes off
# (LLVM fixed the runtime in 2025, llvm-project#152819). The normal build tests the AVX-512 code.
test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) $(CHECKED_BUILD_ARGS) -DTAPEGRAD_NATIVE=OFF \
	  -DTAPEGRAD_SANITIZE="address;undefined" > $(ASAN_BUILD).configure.log 2>&1 \
	  || (cat $(ASAN_BUILD).configure.log; exit 1)
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && $(SANITIZER_ENV) ctest --output-on-failure -j $(JOBS) -E '$(ASAN_EXCLUDE)'
	@# Tests judged by their output alone (the examples) would pass a report made at exit (a
	@# leak): any report in any test's output fails the run.
	@! grep -n -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
	  $(ASAN_BUILD)/Testing/Temporary/LastTest.log || (echo "test-asan: sanitizer report above"; exit 1)

# The tests of tapes nested, interleaved and shared between threads, built with ThreadSanitizer
# (build-tsan): a data race on a tensor record that several tapes or threads share is a report,
# and any report fails the run. Only these tests and the libraries are built.
TSAN_BUILD ?= build-tsan
empty :=
space := $(empty) $(empty)
TSAN_TESTS ?= test_tape_threads test_threads test_tape_nesting test_tape test_parallel
test-tsan: deps
	@cmake -S . -B $(TSAN_BUILD) $(CHECKED_BUILD_ARGS) \
	  -DTAPEGRAD_BUILD_EXAMPLES=OFF -DTAPEGRAD_BUILD_CLI=OFF -DTAPEGRAD_SANITIZE=thread \
	  > $(TSAN_BUILD).configure.log 2>&1 || (cat $(TSAN_BUILD).configure.log; exit 1)
	@cmake --build $(TSAN_BUILD) -j $(JOBS) --target $(TSAN_TESTS)
	@cd $(TSAN_BUILD) && OPENBLAS_NUM_THREADS=1 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --output-on-failure -j $(JOBS) -R '^($(subst $(space),|,$(strip $(TSAN_TESTS)))):'
	@! grep -n 'WARNING: ThreadSanitizer' $(TSAN_BUILD)/Testing/Temporary/LastTest.log \
	  || (echo "test-tsan: ThreadSanitizer report above"; exit 1)

# libFuzzer targets (clang) for the CSV, IDX, .npz and checkpoint readers, all run at once for
# FUZZ_SECONDS on their seed corpora (tests/fuzz/corpus/<target>, read only: new inputs go to
# build-fuzz/corpus/<target>, crashes to build-fuzz/artifacts/). tests/fuzz/README.md has more.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 30
FUZZ_TARGETS ?= csv idx npz checkpoint
fuzz: deps
	@CXX=clang++ cmake -S . -B $(FUZZ_BUILD) $(CHECKED_BUILD_ARGS) -DTAPEGRAD_FUZZ=ON \
	  -DTAPEGRAD_BUILD_TESTS=OFF -DTAPEGRAD_BUILD_EXAMPLES=OFF \
	  -DTAPEGRAD_BUILD_CLI=OFF \
	  > $(FUZZ_BUILD).configure.log 2>&1 || (cat $(FUZZ_BUILD).configure.log; exit 1)
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	@mkdir -p $(FUZZ_BUILD)/artifacts; pids=""; \
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	  OPENBLAS_NUM_THREADS=1 $(FUZZ_BUILD)/tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=16384 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t- \
	    $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t > $(FUZZ_BUILD)/fuzz_$$t.log 2>&1 & \
	  pids="$$pids $$!"; \
	done; \
	set -- $$pids; passed=0; failed=0; \
	for t in $(FUZZ_TARGETS); do \
	  if wait $$1; then passed=$$((passed + 1)); \
	    echo "fuzz_$$t: $$(grep -E '^Done' $(FUZZ_BUILD)/fuzz_$$t.log)"; \
	  else failed=$$((failed + 1)); echo "fuzz_$$t FAILED:"; tail -n 60 $(FUZZ_BUILD)/fuzz_$$t.log; fi; \
	  shift; \
	done; \
	echo "fuzz: $$passed passed, $$failed failed"; [ $$failed -eq 0 ]

install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

# tapegrad against PyTorch, workload by workload (bench/compare; bench/RESULTS.md has the last
# run). It builds only the tapegrad command in $(BUILD) and installs python3-torch if missing.
bench: configure
	@bench/compare --build $(BUILD)

clean:
	@rm -rf $(BUILD) $(BUILD).configure.log $(ASAN_BUILD) $(ASAN_BUILD).configure.log \
	  $(TSAN_BUILD) $(TSAN_BUILD).configure.log $(FUZZ_BUILD) $(FUZZ_BUILD).configure.log
