#pragma once

namespace tapegrad {

// The threads tapegrad's own work uses, the calling thread included (PyTorch's
// torch::set_num_threads). n > 1 starts a pool of n - 1 workers, which split large matrix
// products and large elementwise work (parallel.hpp), and sets OpenBLAS to one thread, so that
// the two pools never compete for the cores. Before the first call tapegrad runs no pool and
// OpenBLAS keeps its own count (OPENBLAS_NUM_THREADS, or the core count).
// ValueError for n < 1 or n > max_threads(), Error when the system starts no more
// threads; the count set before stays.
void set_num_threads(int n);
// Four threads a core: more would only take turns on the same cores.
int max_threads();
// The pool's size once set_num_threads was called, OpenBLAS's thread count before.
int num_threads();

}  // namespace tapegrad
