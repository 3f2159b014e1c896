#pragma once

namespace tapegrad {

// The threads tapegrad's own work uses, the calling thread included (PyTorch's
// torch::set_num_threads). With n > 1, large matrix products and large elementwise work are
// split across a pool of n - 1 workers, started by the first such work (parallel.hpp), and
// OpenBLAS is set to one thread, so that the two pools never compete for the cores. Before the
// first call tapegrad runs no pool and OpenBLAS keeps its own count (OPENBLAS_NUM_THREADS, or
// the core count). ValueError for n < 1 or n > max_threads(); the count set before stays.
// Error when called from inside a part of parallel work. Should the system start no more
// threads, the work runs on the calling thread.
void set_num_threads(int n);
// The pool's size once set_num_threads was called, OpenBLAS's thread count before.
int num_threads();
// Four threads a core: more would only take turns on the same cores.
int max_threads();

}  // namespace tapegrad
