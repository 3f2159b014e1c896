// Matrix products take one of four paths by shape (autodiff/src/blas.cpp): a hand loop for a
// few dozen multiply-adds, gemv for one row or one column, a register-blocked kernel for
// products with at most 64 columns, tall (A·B on many rows) or short (Aᵀ·B summed over many
// rows: the dB of a tall product) (float32), and OpenBLAS's gemm. Each is checked here, forward
// and backward, in both dtypes, against sums computed in float64 by plain loops.
#include <sys/wait.h>
#include <unistd.h>

#include "check.hpp"

namespace {

using Mat = std::vector<std::vector<double>>;

Mat to_mat(const tg::Tensor& t) {
    const auto v = t.to_array<double>();
    const std::size_t rows = v.shape()[0], cols = v.dimension() == 2 ? v.shape()[1] : 1;
    Mat m(rows, std::vector<double>(cols));
    for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t j = 0; j < cols; ++j) m[i][j] = v.data()[i * cols + j];
    return m;
}

Mat transpose(const Mat& a) {
    Mat t(a[0].size(), std::vector<double>(a.size()));
    for (std::size_t i = 0; i < a.size(); ++i)
        for (std::size_t j = 0; j < a[0].size(); ++j) t[j][i] = a[i][j];
    return t;
}

Mat product(const Mat& a, const Mat& b) {
    Mat c(a.size(), std::vector<double>(b[0].size(), 0.0));
    for (std::size_t i = 0; i < a.size(); ++i)
        for (std::size_t p = 0; p < b.size(); ++p)
            for (std::size_t j = 0; j < b[0].size(); ++j) c[i][j] += a[i][p] * b[p][j];
    return c;
}

// |got - want| <= tol·(1 + |want|) everywhere, with the worst element in the message.
void require_close(const tg::Tensor& got, const Mat& want, double tol) {
    const Mat g = to_mat(got);
    REQUIRE(g.size() == want.size());
    REQUIRE(g[0].size() == want[0].size());
    double worst = 0;
    for (std::size_t i = 0; i < want.size(); ++i)
        for (std::size_t j = 0; j < want[0].size(); ++j)
            worst = std::max(worst, std::abs(g[i][j] - want[i][j]) / (1 + std::abs(want[i][j])));
    INFO("worst relative difference " << worst);
    REQUIRE(worst <= tol);
}

// Sums of up to 400 float32 products round to a few 1e-5 of their size; a wrong index or a
// missed row is off by the size of a term.
double tolerance(tg::Dtype d) {
    return d == tg::f32 ? 1e-4 : 1e-12;
}

// matmul(a [m, k], b [k, n]) forward, and backward from a random seed gradient g:
// dA = g·Bᵀ, dB = Aᵀ·g.
void check_matmul(std::size_t m, std::size_t k, std::size_t n, tg::Dtype d) {
    INFO("matmul " << m << "x" << k << " · " << k << "x" << n);
    auto a = tg::randn({m, k}, 1, d).requires_grad_();
    auto b = tg::randn({k, n}, 2, d).requires_grad_();
    const auto g = tg::randn({m, n}, 3, d);
    tg::Tape tape;
    const auto c = tg::matmul(a, b);
    tape.backward(c, g);
    const Mat A = to_mat(a), B = to_mat(b), G = to_mat(g);
    require_close(c, product(A, B), tolerance(d));
    require_close(a.grad(), product(G, transpose(B)), tolerance(d));
    require_close(b.grad(), product(transpose(A), G), tolerance(d));
}

// linear(x [m, k], W [n, k], b [n]) = x·Wᵀ + b, used twice so that the gradients of x, W and b
// accumulate (beta = 1 in the products): dx = 2·g·W, dW = 2·gᵀ·x, db = 2·Σ_rows g.
void check_linear(std::size_t m, std::size_t k, std::size_t n, tg::Dtype d) {
    INFO("linear " << m << "x" << k << " -> " << n);
    auto x = tg::randn({m, k}, 4, d).requires_grad_();
    auto w = tg::randn({n, k}, 5, d).requires_grad_();
    auto bias = tg::randn({n}, 6, d).requires_grad_();
    const auto g = tg::randn({m, n}, 7, d);
    tg::Tape tape;
    const auto y = tg::linear(x, w, bias);
    tape.backward(y + tg::linear(x, w, bias), g);
    const Mat X = to_mat(x), Wt = transpose(to_mat(w)), G = to_mat(g), Bv = to_mat(bias);
    Mat want = product(X, Wt);
    for (auto& row : want)
        for (std::size_t j = 0; j < n; ++j) row[j] += Bv[j][0];
    require_close(y, want, tolerance(d));
    Mat dx = product(G, transpose(Wt)), dw = product(transpose(G), X);
    for (auto* grad : {&dx, &dw})
        for (auto& row : *grad)
            for (auto& e : row) e *= 2;
    Mat db(n, std::vector<double>(1, 0.0));
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) db[j][0] += 2 * G[i][j];
    require_close(x.grad(), dx, tolerance(d));
    require_close(w.grad(), dw, tolerance(d));
    require_close(bias.grad(), db, tolerance(d));
}

}  // namespace

TEST_CASE("every product path agrees with float64 sums, forward and backward") {
    for (const tg::Dtype d : {tg::f32, tg::f64}) {
        check_matmul(2, 3, 4, d);       // hand loop
        check_matmul(100, 20, 1, d);    // gemv (one column)
        check_matmul(1, 20, 30, d);     // gemv (one row)
        check_matmul(67, 13, 10, d);    // tall kernel: two vectors, the second a part
        check_matmul(100, 16, 17, d);   // tall kernel: a whole vector and a part
        check_matmul(130, 9, 64, d);    // tall kernel: whole vectors only
        check_matmul(71, 10, 24, d);    // tall kernel: 6-row blocks of two vectors and of one, 4, 1
        check_matmul(90, 17, 5, d);     // tall: 8-row blocks; short dB: 8-row blocks, 1 row
        check_matmul(100, 24, 3, d);    // short dB of 3 columns as its transpose: 2-row blocks, 1
        check_matmul(70, 90, 80, d);    // OpenBLAS gemm
        check_linear(67, 13, 10, d);    // forward x·Wᵀ (tall, beta = 1) and dx = g·W (tall)
        check_linear(400, 16, 16, d);   // the tiny MLP's hidden layer
        check_linear(400, 2, 16, d);    // its first layer: dW = gᵀ·x as its transpose, beta = 1
        check_linear(256, 20, 1, d);    // logistic regression: gemv both ways
        check_linear(128, 100, 70, d);  // OpenBLAS gemm
    }
}

// With tapegrad's own threads, a product of at least 2^20 multiply-adds a thread is split into
// row blocks of C (column blocks when C has fewer rows than columns), every path inside a part.
// 3.6M multiply-adds: two parts at 2 threads, three at 3.
TEST_CASE("products split across 2 and 3 threads agree with float64 sums, forward and backward") {
    for (const int threads : {2, 3}) {
        INFO(threads << " threads");
        testing::Threads pool(threads);
        for (const tg::Dtype d : {tg::f32, tg::f64}) {
            check_matmul(300, 120, 100, d);  // rows; dA = g·Bᵀ rows; dB = Aᵀ·g rows of stored A
            check_matmul(40, 300, 300, d);   // columns; dA = g·Bᵀ columns; dB = Aᵀ·g rows
            check_linear(18000, 200, 1, d);  // gemv by rows; dW = gᵀ·x by columns
            check_linear(7000, 40, 16, d);  // x·Wᵀ and dx = g·W by rows; dW = gᵀ·x by columns
        }
    }
}

TEST_CASE("a product split across threads is the same bit for bit from run to run") {
    testing::Threads pool(2);
    const auto a = tg::randn({257, 300}, 1, tg::f32);
    const auto b = tg::randn({300, 129}, 2, tg::f32);
    const auto first = tg::matmul(a, b).to_array<float>();
    for (int run = 0; run < 5; ++run) {
        const bool same_bits = tg::matmul(a, b).to_array<float>() == first;
        REQUIRE(same_bits);
    }
}

// A child of fork() has none of its parent's pool threads: it starts its own at its first
// large product instead of waiting for threads that are not there. (Not in make test-tsan:
// TSan refuses threads started after a fork of a multi-threaded process.)
TEST_CASE("a forked child's large products run and match its parent's") {
    testing::Threads pool(2);
    const auto a = tg::randn({300, 120}, 1, tg::f64);
    const auto b = tg::randn({120, 100}, 2, tg::f64);
    const auto parent = tg::matmul(a, b).to_array<double>();  // the parent's pool is running
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) _exit(tg::matmul(a, b).to_array<double>() == parent ? 0 : 1);
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
}
