// tapegrad's thread pool: set_num_threads, num_threads and parallel_for.
#include "tapegrad/autodiff/parallel.hpp"

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "blas.hpp"
#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/autodiff/threads.hpp"

namespace tapegrad {

namespace {

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
}

// Spins before sleeping, in both directions: a training step issues its large products and
// elementwise ops back to back, and a futex wake costs more than most of them take.
constexpr int kSpins = 1 << 12;

template <class Atomic, class Value>
void wait_while_equal(const Atomic& a, Value old) {
    for (int spin = 0; spin < kSpins; ++spin) {
        if (a.load(std::memory_order_acquire) != old) return;
        cpu_relax();
    }
    while (a.load(std::memory_order_acquire) == old) a.wait(old, std::memory_order_acquire);
}

thread_local bool inside_part = false;

// One job at a time. The caller publishes the job and bumps generation_; every worker wakes,
// runs its parts (run_part) and counts pending_ down; the caller runs its own and then waits
// for pending_ to reach zero. Every worker acknowledges every job, so a job's fields are never
// rewritten while a worker may still read them.
class Pool {
  public:
    explicit Pool(int threads) {
        try {
            for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { work(i); });
        } catch (...) {  // the system would not start another thread: end those started
            shut_down();
            throw;
        }
    }
    ~Pool() { shut_down(); }
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    int size() const { return static_cast<int>(workers_.size()) + 1; }

    void run(std::size_t parts, const std::function<void(std::size_t)>& part) {
        job_ = &part;
        parts_ = parts;
        error_ = nullptr;
        pending_.store(static_cast<std::uint32_t>(workers_.size()), std::memory_order_relaxed);
        generation_.fetch_add(1, std::memory_order_release);
        generation_.notify_all();
        run_part(0);
        for (std::uint32_t p; (p = pending_.load(std::memory_order_acquire)) != 0;)
            wait_while_equal(pending_, p);
        if (error_) std::rethrow_exception(error_);
    }

  private:
    void shut_down() {
        stop_ = true;
        generation_.fetch_add(1, std::memory_order_release);
        generation_.notify_all();
        for (auto& w : workers_) w.join();
    }

    // Thread `index` runs parts index, index + size(), ...: every part runs, however many.
    void run_part(std::size_t index) {
        inside_part = true;
        for (std::size_t part = index; part < parts_; part += static_cast<std::size_t>(size())) {
            try {
                (*job_)(part);
            } catch (...) {
                std::lock_guard lock(error_mutex_);
                if (!error_) error_ = std::current_exception();
            }
        }
        inside_part = false;
    }

    void work(std::size_t index) {
        std::uint32_t seen = 0;
        for (;;) {
            wait_while_equal(generation_, seen);
            seen = generation_.load(std::memory_order_acquire);
            if (stop_) return;
            run_part(index);
            if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
        }
    }

    std::vector<std::thread> workers_;
    const std::function<void(std::size_t)>* job_ = nullptr;
    std::size_t parts_ = 0;
    std::exception_ptr error_;
    std::mutex error_mutex_;
    std::atomic<std::uint32_t> generation_{0};
    std::atomic<std::uint32_t> pending_{0};
    std::atomic<bool> stop_{false};
};

// Held by a caller for the whole of a job, and by set_num_threads while it swaps the pool.
std::mutex pool_mutex;
std::unique_ptr<Pool> pool;  // started by start_pool, dropped by set_num_threads
bool pool_failed = false;    // the system started no more threads: retried after set_num_threads

// A child of fork() has none of the pool's threads: it forgets the pool (without joining
// threads it does not have) and starts its own at its first large work.
void forget_pool_in_child() {
    (void)pool.release();
}

// Started at the first work that has parts for it, so that a program whose arrays are all
// small stays a single-threaded process (whose reference counts are not atomic). Called with
// pool_mutex held. Should the system start no more threads, the work runs on one (the same
// result) until set_num_threads is called again.
void start_pool() {
    static std::once_flag fork_handler;
    std::call_once(fork_handler, [] { pthread_atfork(nullptr, nullptr, forget_pool_in_child); });
    try {
        pool = std::make_unique<Pool>(detail::pool_threads.load());
    } catch (const std::exception&) {
        pool_failed = true;
    }
}

}  // namespace

std::atomic<int> detail::pool_threads{0};

int max_threads() {
    return 4 * std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

void set_num_threads(int n) {
    if (n < 1) throw ValueError("set_num_threads: n must be at least 1, got " + std::to_string(n));
    if (n > max_threads()) {
        throw ValueError("set_num_threads: n = " + std::to_string(n) + " is more than " +
                         std::to_string(max_threads()) + " (four threads a core)");
    }
    if (inside_part) {  // the pool would wait for this part, and this part for the pool
        throw Error("set_num_threads: called from inside a part of parallel work");
    }
    std::lock_guard lock(pool_mutex);
    pool.reset();  // the next parallel_for that has parts for them starts n - 1 workers
    pool_failed = false;
    blas::set_num_threads(1);  // tapegrad splits the products itself
    detail::pool_threads = n;
}

int num_threads() {
    const int n = detail::pool_threads.load();
    return n > 0 ? n : blas::num_threads();
}

std::size_t parallel_parts(std::size_t n, std::size_t min_per_part) {
    const int threads = detail::pool_threads.load(std::memory_order_relaxed);
    if (threads <= 1 || inside_part || min_per_part == 0) return 1;
    return std::max<std::size_t>(1, std::min<std::size_t>(threads, n / min_per_part));
}

void parallel_for(std::size_t n, std::size_t min_per_part, std::size_t align,
                  const std::function<void(std::size_t, std::size_t)>& body) {
    if (n == 0) return;
    if (parallel_parts(n, min_per_part) <= 1) return body(0, n);
    std::unique_lock lock(pool_mutex, std::try_to_lock);
    if (!lock.owns_lock()) return body(0, n);  // another thread has the pool: this one works alone
    // Counted again under the lock, where the thread count is the pool's (set_num_threads
    // changes both under it).
    const std::size_t parts = parallel_parts(n, min_per_part);
    if (parts > 1 && !pool && !pool_failed) start_pool();
    if (parts <= 1 || !pool) {
        lock.unlock();  // so that a parallel_for inside body finds the lock free
        return body(0, n);
    }
    align = std::max<std::size_t>(align, 1);
    const std::size_t chunk = ((n + parts - 1) / parts + align - 1) / align * align;
    pool->run(parts, [&](std::size_t part) {
        const std::size_t begin = part * chunk;
        if (begin < n) body(begin, std::min(n, begin + chunk));
    });
}

}  // namespace tapegrad
