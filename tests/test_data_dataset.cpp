// Dataset rows, seeded permutations, split (plain and stratified) and DataLoader.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <tapegrad/data/data_loader.hpp>
#include <tapegrad/data/dataset.hpp>

#include "check.hpp"

using Catch::Contains;

namespace {

using Rows = std::vector<std::size_t>;

// N rows whose x row i is (i, -i) and y is i: every part and batch says which rows it holds.
tg::data::Dataset numbered(std::size_t n, tg::Dtype dtype = tg::f32) {
    xt::xarray<double> x = xt::zeros<double>({n, std::size_t(2)});
    xt::xarray<double> y = xt::zeros<double>({n});
    for (std::size_t i = 0; i < n; ++i) {
        x(i, 0) = static_cast<double>(i);
        x(i, 1) = -static_cast<double>(i);
        y(i) = static_cast<double>(i);
    }
    if (dtype == tg::f64) return {tg::Tensor(x), tg::Tensor(y)};
    return {tg::Tensor(xt::xarray<float>(xt::cast<float>(x))),
            tg::Tensor(xt::xarray<float>(xt::cast<float>(y)))};
}

// The row ids of a part of numbered(): y, after checking that x agrees with it.
Rows ids(const tg::Tensor& x, const tg::Tensor& y) {
    const auto xv = x.to_array<double>();
    const auto yv = y.to_array<double>();
    REQUIRE(x.shape()[0] == y.shape()[0]);
    Rows out;
    bool consistent = true;
    for (std::size_t i = 0; i < yv.size(); ++i) {
        consistent = consistent && xv(i, 0) == yv(i) && xv(i, 1) == -yv(i);
        out.push_back(static_cast<std::size_t>(yv(i)));
    }
    CHECK(consistent);
    return out;
}
Rows ids(const tg::data::Dataset& d) {
    return ids(d.x, d.y);
}

Rows sorted(Rows r) {
    std::sort(r.begin(), r.end());
    return r;
}
Rows iota(std::size_t n) {
    Rows r(n);
    std::iota(r.begin(), r.end(), std::size_t(0));
    return r;
}

// Labels: counts[c] rows of class c, sorted by class (as iris.csv).
tg::data::Dataset by_class(const std::vector<std::size_t>& counts) {
    std::vector<double> labels;
    for (std::size_t c = 0; c < counts.size(); ++c) labels.insert(labels.end(), counts[c], c);
    const std::size_t n = labels.size();
    tg::data::Dataset d = numbered(n, tg::f64);
    xt::xarray<double> y = xt::zeros<double>({n});
    std::copy(labels.begin(), labels.end(), y.begin());
    d.y = tg::Tensor(y);
    return d;
}

std::map<double, std::size_t> label_counts(const tg::data::Dataset& d) {
    std::map<double, std::size_t> m;
    for (double v : d.y.to_array<double>()) ++m[v];
    return m;
}

// Every row of by_class's data lands in exactly one part (x column 0 holds the row id).
void check_partition(const tg::data::Split& s, std::size_t n) {
    Rows all;
    for (const auto* part : {&s.train, &s.validation, &s.test}) {
        const auto x = part->x.to_array<double>();
        for (std::size_t i = 0; i < x.shape()[0]; ++i)
            all.push_back(static_cast<std::size_t>(x(i, 0)));
    }
    CHECK(sorted(all) == iota(n));
}

}  // namespace

// ---- Dataset -----------------------------------------------------------------------------

TEST_CASE("Dataset: size and subset copy the chosen rows, repeats allowed") {
    const tg::data::Dataset d = numbered(5);
    CHECK(d.size() == 5);
    const tg::data::Dataset s = d.subset({4, 0, 4});
    CHECK(s.x.shape() == tg::Shape{3, 2});
    CHECK(s.x.dtype() == tg::f32);
    CHECK(ids(s) == Rows{4, 0, 4});
    // A copy: changing it leaves the data set alone.
    tg::data::Dataset t = d.subset({1});
    t.x.fill_(99.0);
    CHECK(d.x.value<float>()(1, 0) == 1.0f);

    const tg::data::Dataset none = d.subset({});
    CHECK(none.x.shape() == tg::Shape{0, 2});
    CHECK(none.y.shape() == tg::Shape{0});

    // Rows of any rank: [N, 2, 2] images with [N, 1] targets.
    tg::data::Dataset img{tg::arange(12.0, tg::f64), tg::tensor({{7}, {8}, {9}}, tg::f64)};
    img.x = tg::reshape(img.x, {3, 2, 2});
    const tg::data::Dataset last = img.subset({2});
    CHECK(last.x.shape() == tg::Shape{1, 2, 2});
    CHECK(last.x.value<double>()(0, 1, 1) == 11.0);
    CHECK(last.y.value<double>()(0, 0) == 9.0);
}

TEST_CASE("Dataset: mismatched rows and bad indices") {
    tg::data::Dataset d{tg::zeros({5, 2}), tg::zeros({4})};
    CHECK_THROWS_TYPED(
        d.size(), tg::ShapeError,
        Contains("different numbers of rows") && Contains("[5, 2]") && Contains("[4]"));
    CHECK_THROWS_TYPED((tg::data::Dataset{tg::zeros({3}), tg::Tensor()}.size()), tg::ShapeError,
                       Contains("y is undefined"));
    CHECK_THROWS_AS((tg::data::Dataset{tg::scalar(1), tg::scalar(1)}.size()), tg::ShapeError);
    CHECK_THROWS_TYPED(numbered(5).subset({1, 5}), tg::ValueError,
                       Contains("index 5 (position 1) is out of range for 5 rows"));
}

// ---- permutation -------------------------------------------------------------------------

TEST_CASE("permutation: Fisher-Yates on Generator::below, the same on every machine") {
    // From tests/data/permutation_reference.py, an independent Python MT19937-64 + below.
    tg::Generator g0(0);
    CHECK(tg::data::permutation(10, g0) == Rows{7, 2, 0, 8, 3, 9, 6, 1, 5, 4});
    tg::Generator g123(123);
    CHECK(tg::data::permutation(10, g123) == Rows{9, 2, 1, 7, 8, 6, 0, 5, 3, 4});
    tg::Generator g(5);
    CHECK(tg::data::permutation(0, g).empty());
    CHECK(tg::data::permutation(1, g) == Rows{0});
    CHECK(sorted(tg::data::permutation(1000, g)) == iota(1000));
}

TEST_CASE("permutation: a long shuffle, whose draws are made ahead, is still Fisher-Yates") {
    // The same script: the first and last entries and a checksum of the whole order.
    tg::Generator g(2026);
    const Rows p = tg::data::permutation(100000, g);
    CHECK(Rows(p.begin(), p.begin() + 6) == Rows{88604, 1861, 5840, 19053, 80700, 37017});
    CHECK(Rows(p.end() - 6, p.end()) == Rows{71531, 16166, 80252, 1303, 22398, 1901});
    std::uint64_t weighted = 0;
    for (std::size_t i = 0; i < p.size(); ++i) weighted += i * p[i];
    CHECK(weighted == 249567320646764u);
    // Every length around the number of draws made ahead, against the plain loop.
    for (std::size_t n = 2; n <= 40; ++n) {
        tg::Generator a(n), b(n);
        Rows plain = iota(n);
        for (std::size_t i = n; i > 1; --i) std::swap(plain[i - 1], plain[b.below(i)]);
        CHECK(tg::data::permutation(n, a) == plain);
    }
}

// ---- split -------------------------------------------------------------------------------

TEST_CASE("split: sizes, disjoint parts covering every row, seeded") {
    const tg::data::Dataset d = numbered(100);
    const auto s = tg::data::split(d, {.validation = 0.2, .test = 0.1, .seed = 3});
    const Rows tr = ids(s.train), va = ids(s.validation), te = ids(s.test);
    CHECK(tr.size() == 70);
    CHECK(va.size() == 20);
    CHECK(te.size() == 10);
    Rows all = tr;
    all.insert(all.end(), va.begin(), va.end());
    all.insert(all.end(), te.begin(), te.end());
    CHECK(sorted(all) == iota(100));
    CHECK(tr != sorted(tr));  // shuffled, not the first 70 rows

    const auto again = tg::data::split(d, {.validation = 0.2, .test = 0.1, .seed = 3});
    CHECK(ids(again.validation) == va);
    const auto other = tg::data::split(d, {.validation = 0.2, .test = 0.1, .seed = 4});
    CHECK(ids(other.validation) != va);

    // Fraction 0: a part with no rows; halves round up (0.25 · 10 = 2.5 -> 3).
    const auto s0 = tg::data::split(numbered(10), {.validation = 0.25, .test = 0.0});
    CHECK(s0.validation.size() == 3);
    CHECK(s0.test.x.shape() == tg::Shape{0, 2});
    CHECK(s0.train.size() == 7);
}

TEST_CASE("split: bad fractions are ValueErrors") {
    const tg::data::Dataset d = numbered(10);
    CHECK_THROWS_TYPED(tg::data::split(d, {.validation = -0.1}), tg::ValueError,
                       Contains("validation fraction must be in [0, 1), got -0.1"));
    CHECK_THROWS_TYPED(tg::data::split(d, {.validation = 0.1, .test = 1.0}), tg::ValueError,
                       Contains("test fraction must be in [0, 1), got 1"));
    CHECK_THROWS_AS(tg::data::split(d, {.validation = std::nan("")}), tg::ValueError);
    CHECK_THROWS_TYPED(tg::data::split(d, {.validation = 0.5, .test = 0.5}), tg::ValueError,
                       Contains("take 5 + 5 rows and leave none for training"));
    CHECK_THROWS_TYPED(tg::data::split(numbered(0)), tg::ValueError,
                       Contains("leave none for training"));
}

TEST_CASE("split: stratified keeps every class's share (iris-like, sorted by class)") {
    const tg::data::Dataset d = by_class({50, 50, 50});
    const auto s =
        tg::data::split(d, {.validation = 0.2, .test = 0.2, .seed = 1, .stratify = true});
    using M = std::map<double, std::size_t>;
    CHECK(label_counts(s.train) == M{{0, 30}, {1, 30}, {2, 30}});
    CHECK(label_counts(s.validation) == M{{0, 10}, {1, 10}, {2, 10}});
    CHECK(label_counts(s.test) == M{{0, 10}, {1, 10}, {2, 10}});
    check_partition(s, 150);
}

TEST_CASE("split: stratified rounding by largest remainders") {
    const tg::data::Dataset d = by_class({7, 5, 3});
    using M = std::map<double, std::size_t>;
    // Validation 0.25 of 15: round(3.75) = 4 rows. Exact shares 1.75, 1.25, 0.75: floors
    // 1, 1, 0, and the two rows left go to the largest remainders, 0.75 of class 0 and of
    // class 2 (a tie, both served before class 1's 0.25).
    const auto s = tg::data::split(d, {.validation = 0.25, .seed = 9, .stratify = true});
    CHECK(label_counts(s.validation) == M{{0, 2}, {1, 1}, {2, 1}});
    CHECK(label_counts(s.train) == M{{0, 5}, {1, 4}, {2, 2}});
    CHECK(s.test.size() == 0);
    check_partition(s, 15);

    // With test 0.25 too, test is shared out first (2, 1, 1), then validation likewise.
    const auto t = tg::data::split(d, {.validation = 0.25, .test = 0.25, .stratify = true});
    CHECK(label_counts(t.test) == M{{0, 2}, {1, 1}, {2, 1}});
    CHECK(label_counts(t.validation) == M{{0, 2}, {1, 1}, {2, 1}});
    CHECK(label_counts(t.train) == M{{0, 3}, {1, 3}, {2, 1}});
    check_partition(t, 15);

    // Labels need not be 0..k-1: -1 / +1, and a column [N, 1].
    tg::data::Dataset pm = by_class({6, 2});
    pm.y = tg::reshape(pm.y * 2.0 - 1.0, {8, 1});
    const auto u = tg::data::split(pm, {.validation = 0.5, .stratify = true});
    CHECK(label_counts(u.validation) == M{{-1, 3}, {1, 1}});
}

TEST_CASE("split: stratify needs whole-number class labels in one column") {
    tg::data::Dataset d = numbered(4, tg::f64);
    d.y = tg::tensor({0.0, 1.0, 1.5, 0.0}, tg::f64);
    CHECK_THROWS_TYPED(tg::data::split(d, {.validation = 0.25, .stratify = true}), tg::ValueError,
                       Contains("y in row 2 is 1.5"));
    d.y = tg::zeros({4, 2}, tg::f64);
    CHECK_THROWS_TYPED(tg::data::split(d, {.validation = 0.25, .stratify = true}), tg::ValueError,
                       Contains("[4, 2]"));
}

// ---- DataLoader --------------------------------------------------------------------------

namespace {

// One epoch of a loader: the row ids of every batch.
std::vector<Rows> epoch_batches(tg::data::DataLoader& loader) {
    std::vector<Rows> out;
    for (auto [x, y] : loader) out.push_back(ids(x, y));
    return out;
}

Rows concat(const std::vector<Rows>& batches) {
    Rows all;
    for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
    return all;
}

std::vector<std::size_t> sizes(const std::vector<Rows>& batches) {
    std::vector<std::size_t> s;
    for (const auto& b : batches) s.push_back(b.size());
    return s;
}

}  // namespace

TEST_CASE("DataLoader: batch counts with and without drop_last") {
    tg::data::DataLoader loader(numbered(10), {.batch_size = 3, .seed = 1});
    CHECK(loader.num_batches() == 4);
    CHECK(loader.size() == 10);
    const auto e0 = epoch_batches(loader);
    CHECK(sizes(e0) == std::vector<std::size_t>{3, 3, 3, 1});
    CHECK(sorted(concat(e0)) == iota(10));

    tg::data::DataLoader dropping(numbered(10), {.batch_size = 3, .drop_last = true, .seed = 1});
    CHECK(dropping.num_batches() == 3);
    const auto d0 = epoch_batches(dropping);
    CHECK(sizes(d0) == std::vector<std::size_t>{3, 3, 3});
    // The same order as without drop_last, less its last row.
    Rows expected = concat(e0);
    expected.pop_back();
    CHECK(concat(d0) == expected);

    tg::data::DataLoader exact(numbered(9), {.batch_size = 3, .drop_last = true});
    CHECK(exact.num_batches() == 3);
    tg::data::DataLoader sgd(numbered(4), {.batch_size = 1});
    CHECK(sizes(epoch_batches(sgd)) == std::vector<std::size_t>{1, 1, 1, 1});
}

TEST_CASE("DataLoader: batch_size 0 is an error, larger than N is one full batch") {
    CHECK_THROWS_TYPED(tg::data::DataLoader(numbered(5), {.batch_size = 0}), tg::ValueError,
                       Contains("batch_size must be at least 1, got 0"));
    CHECK_THROWS_AS(tg::data::DataLoader(tg::data::Dataset{tg::zeros({5, 2}), tg::zeros({4})}),
                    tg::ShapeError);
    for (bool drop_last : {false, true}) {
        INFO("drop_last " << drop_last);
        tg::data::DataLoader big(numbered(5), {.batch_size = 64, .drop_last = drop_last});
        CHECK(big.num_batches() == 1);
        const auto b = epoch_batches(big);
        REQUIRE(b.size() == 1);
        CHECK(sorted(b[0]) == iota(5));
    }
    tg::data::DataLoader empty(numbered(0), {.batch_size = 4});
    CHECK(empty.num_batches() == 0);
    CHECK(epoch_batches(empty).empty());
}

TEST_CASE("DataLoader: without shuffle the rows come in order") {
    tg::data::DataLoader loader(numbered(7), {.batch_size = 3, .shuffle = false});
    for (int epoch = 0; epoch < 2; ++epoch)
        CHECK(epoch_batches(loader) == std::vector<Rows>{{0, 1, 2}, {3, 4, 5}, {6}});
}

TEST_CASE("DataLoader: the order of epoch e depends only on (seed, e)") {
    tg::data::DataLoader a(numbered(10), {.batch_size = 4, .seed = 7});
    // From tests/data/permutation_reference.py (splitmix64 seed mix, MT19937-64, below).
    CHECK(a.order() == Rows{5, 6, 2, 8, 4, 9, 7, 3, 1, 0});  // epoch 0's, before begin()
    CHECK(a.order_of_epoch(1) == Rows{4, 5, 2, 8, 3, 7, 1, 6, 0, 9});
    CHECK(a.order_of_epoch(5) == Rows{3, 4, 2, 5, 0, 1, 9, 7, 6, 8});

    std::vector<std::vector<Rows>> epochs;
    for (int e = 0; e < 4; ++e) {
        CHECK(a.epoch() == static_cast<std::uint64_t>(e));
        epochs.push_back(epoch_batches(a));
        CHECK(concat(epochs.back()) == a.order());
        CHECK(a.order() == a.order_of_epoch(e));
    }
    CHECK(concat(epochs[0]) == Rows{5, 6, 2, 8, 4, 9, 7, 3, 1, 0});
    CHECK(epochs[0] != epochs[1]);
    CHECK(epochs[1] != epochs[2]);

    // Resuming at epoch 2, here or in a fresh loader, repeats epochs 2 and 3.
    a.set_epoch(2);
    CHECK(epoch_batches(a) == epochs[2]);
    tg::data::DataLoader b(numbered(10), {.batch_size = 4, .seed = 7});
    b.set_epoch(3);
    CHECK(epoch_batches(b) == epochs[3]);
    CHECK(b.epoch() == 4);

    tg::data::DataLoader c(numbered(10), {.batch_size = 4, .seed = 8});
    CHECK(epoch_batches(c) != epochs[0]);
}

TEST_CASE("DataLoader: batch(b) gathers only that batch's rows") {
    tg::data::DataLoader loader(numbered(10, tg::f64), {.batch_size = 4, .seed = 2});
    loader.begin();
    const Rows& order = loader.order();
    const auto [x, y] = loader.batch(2);
    CHECK(x.shape() == tg::Shape{2, 2});
    CHECK(x.dtype() == tg::f64);
    CHECK(ids(x, y) == Rows{order[8], order[9]});
    CHECK_THROWS_TYPED(loader.batch(3), tg::ValueError,
                       Contains("batch 3 is out of range for 3 batches"));
    // Iterating by hand: ++ and == as a range-for uses them.
    auto it = loader.begin();
    std::size_t count = 0;
    for (; !(it == loader.end()); ++it) ++count;
    CHECK(count == 3);
}

TEST_CASE("DataLoader: the ranks' shards of a batch are the batch, in order and near equal") {
    tg::data::DataLoader whole(numbered(11), {.batch_size = 4, .seed = 5});
    const auto expected = epoch_batches(whole);  // sizes 4, 4, 3
    for (std::size_t world : {2, 3}) {
        INFO("world_size " << world);
        std::vector<std::vector<Rows>> per_rank;
        for (std::size_t r = 0; r < world; ++r) {
            tg::data::DataLoader shard(
                numbered(11), {.batch_size = 4, .seed = 5, .rank = r, .world_size = world});
            CHECK(shard.num_batches() == whole.num_batches());
            per_rank.push_back(epoch_batches(shard));
        }
        for (std::size_t b = 0; b < expected.size(); ++b) {
            Rows joined;
            std::size_t smallest = 100, largest = 0;
            for (std::size_t r = 0; r < world; ++r) {
                const Rows& part = per_rank[r][b];
                joined.insert(joined.end(), part.begin(), part.end());
                smallest = std::min(smallest, part.size());
                largest = std::max(largest, part.size());
            }
            CHECK(joined == expected[b]);
            CHECK(largest - smallest <= 1);
        }
    }
}

TEST_CASE("DataLoader: a shard setting without rows for every rank is refused") {
    CHECK_THROWS_TYPED(tg::data::DataLoader(numbered(5), {.rank = 2, .world_size = 2}),
                       tg::ValueError,
                       Contains("need rank < world_size, got rank 2 and world_size 2"));
    // 9 rows in batches of 4: the last batch has 1 row for 2 ranks.
    CHECK_THROWS_TYPED(tg::data::DataLoader(numbered(9), {.batch_size = 4, .world_size = 2}),
                       tg::ValueError,
                       Contains("the last batch has 1 row, fewer than the 2 ranks that share it"));
    tg::data::DataLoader dropping(numbered(9),
                                  {.batch_size = 4, .drop_last = true, .world_size = 2});
    CHECK(dropping.batch_rows(0) == 2);
    CHECK(dropping.global_batch_rows(0) == 4);
}
