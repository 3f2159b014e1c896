#pragma once

namespace tapegrad {

// Threads used by matrix products (OpenBLAS's pool). Benchmarks set it explicitly.
void set_num_threads(int n);
int num_threads();

}  // namespace tapegrad
