#pragma once
// tapegrad's own threads: large matrix products and large elementwise work are split into
// contiguous parts, one per thread, the calling thread taking the first. The parts depend only
// on the size of the work and the thread count, never on timing, so a result is the same from
// run to run at a given count (and, for elementwise work, the same at every count).
#include <cstddef>
#include <functional>

namespace tapegrad {

// Runs body(begin, end) over [0, n) (not at all when n is 0) in up to num_threads() contiguous
// parts of at least min_per_part items each, every part but the last a multiple of align items
// long. Returns when every part is done; the first exception thrown by a part is rethrown here.
// Small work, a pool of one thread, a call from inside a part, or a call while another thread has
// the pool runs body(0, n) on the calling thread.
void parallel_for(std::size_t n, std::size_t min_per_part, std::size_t align,
                  const std::function<void(std::size_t, std::size_t)>& body);

// How many parts parallel_for would make of n items.
std::size_t parallel_parts(std::size_t n, std::size_t min_per_part);

}  // namespace tapegrad
