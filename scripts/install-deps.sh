#!/usr/bin/env bash
# Installs the Debian packages tapegrad needs, only those that are missing. Through sudo when
# not root. The one list of build dependencies lives here.
set -euo pipefail

packages=(
  cmake make g++ ccache pkg-config
  xtensor-dev xtl-dev libxsimd-dev   # arrays and SIMD
  libopenblas-dev                    # matrix products (cblas_sgemm / cblas_dgemm)
  catch2                             # tests (v2)
  zlib1g-dev                         # .npz files (CRC-32, deflate), gzip-compressed data sets
  python3-numpy                      # a test that NumPy reads the .npz files we write
  libcli11-dev                       # the tapegrad command's flags
  nlohmann-json3-dev                 # the description inside a tapegrad model file
  dataset-fashion-mnist              # Fashion-MNIST IDX files (tests, examples, benchmarks)
  graphviz                           # dot: tape pictures (a test renders one)
  tmux                               # a test drives the interactive stepper through a terminal
  chromium                           # headless: the tests of the stepper's web page
  clang                              # make fuzz: libFuzzer targets are built with clang++
  libclang-rt-14-dev                 # clang's libFuzzer, ASan and UBSan runtimes
  libopenmpi-dev openmpi-bin         # tapegrad::distributed (MPI) and its mpirun tests
)
# Extra groups, asked for by name: ./install-deps.sh graphviz torch libtorch valgrind
for extra in "$@"; do
  case "$extra" in
    graphviz) packages+=(graphviz) ;;
    torch) packages+=(python3-torch python3-numpy) ;;
    libtorch) packages+=(libtorch-dev) ;;  # bench/libtorch_bench (cmake -DTAPEGRAD_BENCH_LIBTORCH=ON)
    valgrind) packages+=(valgrind) ;;  # the memcheck run of tests/fuzz/README.md
    *) echo "install-deps: unknown group '$extra'" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
