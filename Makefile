# The front door. `make demo` and `make test` install what is missing, configure, build, and
# run; everything else is plain CMake underneath (build/ holds the build tree).
BUILD     ?= build
JOBS      ?= $(shell nproc)
PREFIX    ?= /usr/local
CMAKE_ARGS ?=

.PHONY: all deps configure build demo test install bench clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) $(CMAKE_ARGS) > $(BUILD).configure.log 2>&1 || (cat $(BUILD).configure.log; exit 1)

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@$(BUILD)/examples/quadratic

# Results differ slightly between 1 and 2 BLAS threads; tests run with one.
test: build
	@cd $(BUILD) && OPENBLAS_NUM_THREADS=1 ctest --output-on-failure -j $(JOBS)

install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

bench: build
	@$(BUILD)/bench/bench_autodiff

clean:
	@rm -rf $(BUILD) $(BUILD).configure.log
