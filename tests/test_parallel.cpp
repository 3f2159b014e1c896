// tapegrad's thread pool (parallel.hpp, threads.hpp): every index once, in contiguous aligned
// parts fixed by the size and the thread count; exceptions carried to the caller; a call from
// inside a part, or from a second thread while the pool is busy, runs on its own thread; and
// a model trained with 2 threads matches the 1-thread run. Run under TSan by make test-tsan.
#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optim.hpp>
#include <thread>
#include <vector>

#include "check.hpp"
#include "training.hpp"

namespace {

// The parts parallel_for made of [0, n): (begin, end) in order of begin.
std::vector<std::pair<std::size_t, std::size_t>> parts_of(std::size_t n, std::size_t min,
                                                          std::size_t align) {
    std::vector<std::pair<std::size_t, std::size_t>> parts(8, {0, 0});
    std::atomic<int> count = 0;
    tg::parallel_for(n, min, align, [&](std::size_t b, std::size_t e) {
        parts[static_cast<std::size_t>(count++)] = {b, e};
    });
    parts.resize(static_cast<std::size_t>(count.load()));
    std::sort(parts.begin(), parts.end());
    return parts;
}

}  // namespace

TEST_CASE("parallel_for covers every index once in contiguous aligned parts") {
    for (const int threads : {1, 2, 3}) {
        INFO(threads << " threads");
        testing::Threads pool(threads);
        REQUIRE(tg::num_threads() == threads);
        for (const std::size_t n : {0, 1, 7, 100, 1000, 1001, 4096}) {
            INFO("n = " << n);
            const auto parts = parts_of(n, 100, 8);
            const std::size_t want = std::max<std::size_t>(
                1, std::min<std::size_t>(static_cast<std::size_t>(threads), n / 100));
            REQUIRE(parts.size() <= want);
            std::size_t next = 0;
            for (const auto& [b, e] : parts) {
                REQUIRE(b == next);
                REQUIRE(e > b);
                if (e != n) REQUIRE(e % 8 == 0);
                next = e;
            }
            REQUIRE(next == n);
            if (n > 0) REQUIRE(parts.size() == want);
            REQUIRE(parts_of(n, 100, 8) == parts);  // fixed by n and the thread count
        }
    }
}

TEST_CASE("an exception in a part reaches the caller and the pool keeps working") {
    testing::Threads pool(2);
    std::vector<int> seen(1000, 0);
    const auto fail_second_half = [&](std::size_t b, std::size_t e) {
        if (b >= 500) throw std::runtime_error("part starting at " + std::to_string(b));
        for (std::size_t i = b; i < e; ++i) seen[i] = 1;
    };
    REQUIRE_THROWS_WITH(tg::parallel_for(1000, 100, 1, fail_second_half), "part starting at 500");
    std::fill(seen.begin(), seen.end(), 0);
    tg::parallel_for(1000, 100, 1, [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) seen[i] += 1;
    });
    REQUIRE(std::count(seen.begin(), seen.end(), 1) == 1000);
}

TEST_CASE("parallel_for inside a part, and from a second thread, runs on the calling thread") {
    testing::Threads pool(2);
    std::vector<std::atomic<int>> seen(2000);
    std::atomic<int> nested_parts = 0, nested_not_whole = 0;  // Catch's checks are one thread's
    tg::parallel_for(2000, 100, 1, [&](std::size_t b, std::size_t e) {
        // Nested: one part on this thread, whatever the pool size.
        tg::parallel_for(e - b, 1, 1, [&](std::size_t nb, std::size_t ne) {
            ++nested_parts;
            if (nb != 0 || ne != e - b) ++nested_not_whole;
            for (std::size_t i = b + nb; i < b + ne; ++i) ++seen[i];
        });
    });
    REQUIRE(nested_parts == 2);  // one for each of the two outer parts
    REQUIRE(nested_not_whole == 0);
    // Two threads asking at once: each call completes, whichever holds the pool.
    std::thread other([&] {
        for (int r = 0; r < 50; ++r)
            tg::parallel_for(2000, 100, 1, [&](std::size_t b, std::size_t e) {
                for (std::size_t i = b; i < e; ++i) ++seen[i];
            });
    });
    for (int r = 0; r < 50; ++r)
        tg::parallel_for(2000, 100, 1, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) ++seen[i];
        });
    other.join();
    for (const auto& s : seen) REQUIRE(s.load() == 101);
}

TEST_CASE(
    "set_num_threads refuses fewer than one thread or more than four a core and keeps its count") {
    testing::Threads pool(2);
    REQUIRE_THROWS_MATCHES(
        tg::set_num_threads(0), tg::ValueError,
        Catch::Matchers::Message("set_num_threads: n must be at least 1, got 0"));
    REQUIRE(tg::num_threads() == 2);
    const int too_many = tg::max_threads() + 1;
    REQUIRE(tg::max_threads() ==
            4 * std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
    REQUIRE_THROWS_MATCHES(
        tg::set_num_threads(too_many), tg::ValueError,
        Catch::Matchers::Message("set_num_threads: n = " + std::to_string(too_many) +
                                 " is more than " + std::to_string(too_many - 1) +
                                 " (four threads a core)"));
    REQUIRE(tg::num_threads() == 2);
}

TEST_CASE("an MLP trained with 2 threads matches the 1-thread run") {
    // Wide enough that its products are split (128 x 512 x 512 multiply-adds a step).
    const auto train = [](nn::Sequential& model) {
        const data::Dataset rows = testing::rows_with_rule(
            256, 512, 11, [](std::span<const double> x, double) { return x[0] - 2 * x[1]; });
        optim::Adam opt(model.parameters(), {.lr = 1e-3});
        data::DataLoader loader(rows, {.batch_size = 128, .seed = 3});
        optim::fit(model, opt, testing::mse, loader, {.epochs = 3});
    };
    const auto mlp = [] {
        return nn::Sequential(nn::Linear(512, 512, {.seed = 1, .dtype = tg::f64}), nn::Tanh(),
                              nn::Linear(512, 1, {.seed = 2, .dtype = tg::f64}));
    };
    nn::Sequential one = mlp(), two = mlp(), again = mlp();
    train(one);
    testing::Threads pool(2);
    train(two);
    train(again);
    CHECK(testing::max_difference(one, two) <= 1e-12);
    CHECK(testing::max_difference(one, two) > -1);               // not NaN
    CHECK(testing::same(two.state_dict(), again.state_dict()));  // the same bits at 2 threads
}

TEST_CASE(
    "large elementwise ops and their gradients are the same bit for bit at 1, 2 and 3 threads") {
    // 300 006 elements: parts of whole 64-byte blocks and a tail that is not a whole vector.
    const auto run = [](tg::Dtype d) {
        auto x = tg::randn({300006}, 1, d).requires_grad_();
        auto y = tg::randn({300006}, 2, d).requires_grad_();
        auto row = tg::randn({1, 7}, 3, d).requires_grad_();  // broadcast: stays on one thread
        tg::Tape tape;
        const auto z = tg::tanh(x) * y + tg::exp(x - y) / (y * y + 1.0);
        const auto b = tg::reshape(x, {42858, 7}) * row;
        tape.backward(tg::sum(z) + tg::sum(b * b));
        return std::vector<tg::Tensor>{z, b, x.grad(), y.grad(), row.grad()};
    };
    for (const tg::Dtype d : {tg::f32, tg::f64}) {
        const auto one = run(d);
        for (const int threads : {2, 3}) {
            INFO(threads << " threads, " << (d == tg::f32 ? "f32" : "f64"));
            testing::Threads pool(threads);
            const auto many = run(d);
            for (std::size_t i = 0; i < one.size(); ++i) {
                INFO("result " << i);
                const bool same_bits = one[i].to_array<double>() == many[i].to_array<double>();
                REQUIRE(same_bits);
            }
        }
    }
}

TEST_CASE("Adam's update of a large parameter is the same bit for bit at 1 and 2 threads") {
    // amsgrad and weight decay on, so that every buffer and branch of the update is split.
    const auto run = [](tg::Dtype d) {
        auto w = tg::randn({300006}, 4, d).requires_grad_();
        optim::Adam opt({w}, {.lr = 1e-2, .weight_decay = 0.1, .amsgrad = true});
        for (int step = 0; step < 3; ++step) {
            tg::Tape tape;
            opt.zero_grad();
            tape.backward(tg::sum(tg::sin(w) * w));
            opt.step();
        }
        return w.to_array<double>();
    };
    for (const tg::Dtype d : {tg::f32, tg::f64}) {
        const auto one = run(d);
        testing::Threads pool(2);
        const bool same_bits = run(d) == one;
        REQUIRE(same_bits);
    }
}

TEST_CASE(
    "batches gathered from a 40 MB data set on 2 threads are the rows a 1-thread loader gives") {
    // Beyond the 32 MB from which a batch's rows are copied in parts, with rows of 512 bytes:
    // a batch of 256 is two parts of at least 64 KiB.
    const data::Dataset rows = testing::rows_with_rule(
        80000, 64, 21, [](std::span<const double> x, double) { return x[0]; });
    const auto batches = [&rows] {
        data::DataLoader loader(rows, {.batch_size = 256, .seed = 5});
        loader.begin();  // the first epoch's order
        std::vector<tg::Tensor> out;
        for (std::size_t b = 0; b < 20; ++b) out.push_back(loader.batch(b).first);
        return std::pair{out, loader.order()};
    };
    const auto [one, order] = batches();
    testing::Threads pool(2);
    const auto [two, order_two] = batches();
    REQUIRE(order_two == order);
    const auto& x = rows.x.value<double>();
    for (std::size_t b = 0; b < one.size(); ++b) {
        INFO("batch " << b);
        const bool same_rows = one[b].value<double>() == two[b].value<double>();
        REQUIRE(same_rows);
        // Row r of batch b is row order[256 b + r] of the data set.
        const auto& got = two[b].value<double>();
        for (std::size_t r = 0; r < 256; ++r)
            for (std::size_t c = 0; c < 64; ++c) REQUIRE(got(r, c) == x(order[256 * b + r], c));
    }
}

TEST_CASE("set_num_threads from inside a part of parallel work is an error, not a deadlock") {
    testing::Threads pool(2);
    std::atomic<int> refused = 0;
    tg::parallel_for(4000, 1000, 1, [&](std::size_t, std::size_t) {
        try {
            tg::set_num_threads(3);
        } catch (const tg::Error& e) {
            if (std::string(e.what()) ==
                "set_num_threads: called from inside a part of parallel work")
                ++refused;
        }
    });
    REQUIRE(refused == 2);  // both parts, on the caller and on the worker
    REQUIRE(tg::num_threads() == 2);
}
