#pragma once
// The problems the optimizer tests share: the least-squares problem of
// tests/data/optim_reference.py with its check against PyTorch's trajectories (SGD and the
// adaptive methods), and problems given as a loss of some parameters with the closure that
// L-BFGS and Newton call.
#include <algorithm>
#include <cmath>
#include <functional>
#include <span>
#include <string>
#include <tapegrad/optim/optimizer.hpp>
#include <vector>

#include "check.hpp"

namespace testing {

// w holds exactly the expected values, to tol.
inline void require_values(const tg::Tensor& w, std::vector<double> expected, double tol = 1e-13) {
    const auto v = w.to_array<double>();
    REQUIRE(v.size() == expected.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
        INFO("element " << i << ": " << v.data()[i] << " vs " << expected[i]);
        CHECK(std::abs(v.data()[i] - expected[i]) <= tol);
    }
}

// ---- the least-squares problem of tests/data/optim_reference.py --------------------------
struct LeastSquares {
    tg::Tensor X, Y, W, b;
    explicit LeastSquares(tg::Dtype dtype = tg::f64) {
        xt::xarray<double> x = xt::zeros<double>({8, 3}), y = xt::zeros<double>({8, 2});
        for (int i = 0; i < 8; ++i) {
            for (int j = 0; j < 3; ++j) x(i, j) = ((7 * i + 3 * j) % 11 - 5) / 4.0;
            for (int k = 0; k < 2; ++k) y(i, k) = ((5 * i + 2 * k) % 7 - 3) / 2.0;
        }
        X = tg::from_array(x).to(dtype).detach();
        Y = tg::from_array(y).to(dtype).detach();
        W = tg::tensor({{0.1, -0.2}, {0.3, 0.05}, {-0.15, 0.25}}, dtype).requires_grad_();
        b = tg::tensor({0.5, -0.5}, dtype).requires_grad_();
    }
    void step(tg::optim::Optimizer& opt, bool negate = false) {
        opt.zero_grad();
        {
            tg::Tape tape;
            tg::Tensor loss = tg::mean(tg::square(tg::matmul(X, W) + b - Y));
            tape.backward(negate ? -loss : loss);
        }
        opt.step();
    }
    std::vector<double> flat() const {
        std::vector<double> out;
        for (double v : W.to_array<double>()) out.push_back(v);
        for (double v : b.to_array<double>()) out.push_back(v);
        return out;
    }
};

// One configuration of optim_reference.py as PyTorch 1.13 ran it (float64).
struct Reference {
    const char* name;
    double after[3][8];  // W (row-major) then b, after steps 1, 10 and 20
};

// 20 steps of Opt on LeastSquares, W in a group with options g0 and b in one with g1 (the
// loss negated when asked), checked after steps 1, 10 and 20 against the configuration of
// that name in table, to 1e-10 relative.
template <class Opt>
void compare_with_reference(std::span<const Reference> table, const char* name,
                            typename Opt::Options g0, typename Opt::Options g1, bool negate) {
    const Reference* ref = nullptr;
    for (const auto& r : table)
        if (std::string(r.name) == name) ref = &r;
    REQUIRE(ref != nullptr);
    LeastSquares p;
    Opt opt({p.W}, g0);
    opt.add_param_group({p.b}, g1);
    int checked = 0;
    for (int step = 1; step <= 20; ++step) {
        p.step(opt, negate);
        const int slot = step == 1 ? 0 : step == 10 ? 1 : step == 20 ? 2 : -1;
        if (slot < 0) continue;
        const auto got = p.flat();
        for (std::size_t i = 0; i < 8; ++i) {
            INFO(name << " step " << step << " element " << i << ": " << got[i] << " vs "
                      << ref->after[slot][i]);
            CHECK(std::abs(got[i] - ref->after[slot][i]) <=
                  1e-10 * std::max(1.0, std::abs(ref->after[slot][i])));
            ++checked;
        }
    }
    REQUIRE(checked == 24);
}

// What a resume must reproduce: `run` after 10 steps of an Opt with W in a group with options
// o0 and b in one with o1, the optimizer's state saved after step 5, and a fresh problem
// `resumed` that holds the parameters of step 5.
template <class Opt>
struct SavedAfterFive {
    LeastSquares run, resumed;
    tg::StateDict saved;
    SavedAfterFive(typename Opt::Options o0, typename Opt::Options o1) {
        Opt opt({run.W}, o0);
        opt.add_param_group({run.b}, o1);
        for (int s = 0; s < 5; ++s) run.step(opt);
        saved = opt.state_dict();
        resumed.W.copy_(run.W.detach());
        resumed.b.copy_(run.b.detach());
        for (int s = 0; s < 5; ++s) run.step(opt);
    }
};

// ---- a convex quadratic -------------------------------------------------------------------
// f(w) = 0.5 w'Aw - b'w (w [3, 1]) with A symmetric positive definite: the gradient Aw - b
// vanishes at the minimum, so its largest entry measures the distance from it. Returns
// |Aw - b|_inf after `steps` steps of opt (which optimizes w).
inline double quadratic_grad_norm_after(tg::optim::Optimizer& opt, tg::Tensor& w, int steps) {
    const tg::Tensor A = tg::tensor({{3.0, 1.0, 0.0}, {1.0, 2.0, 0.5}, {0.0, 0.5, 1.0}}, tg::f64);
    const tg::Tensor b = tg::tensor({{1.0}, {-1.0}, {2.0}}, tg::f64);
    for (int s = 0; s < steps; ++s) {
        opt.zero_grad();
        tg::Tape tape;
        tape.backward(tg::sum(w * tg::matmul(A, w)) * 0.5 - tg::sum(b * w));
        opt.step();
    }
    const auto r = tg::matmul(A, w).to_array<double>() - b.value<double>();
    return xt::amax(xt::abs(r))();
}

// ---- a loss of some parameters, for L-BFGS and Newton --------------------------------------
struct Problem {
    std::vector<tg::Tensor> params;
    std::function<tg::Tensor()> loss;
};

// Records the loss, runs backward and returns the loss (the gradients accumulate).
inline double loss_and_backward(const Problem& p) {
    tg::Tape tape;
    tg::Tensor loss = p.loss();
    tape.backward(loss);
    return loss.item();
}

// The closure an optimizer calls: zeroes the gradients, then loss_and_backward.
inline std::function<double()> closure_for(const Problem& p) {
    return [&p] {
        for (auto& t : p.params) tg::Tensor(t).zero_grad();
        return loss_and_backward(p);
    };
}
// The same, with opt's zero_grad (opt optimizes p's parameters).
inline std::function<double()> closure_for(tg::optim::Optimizer& opt, const Problem& p) {
    return [&opt, &p] {
        opt.zero_grad();
        return loss_and_backward(p);
    };
}

// The values of all the parameters, one after the other.
inline std::vector<double> flat(const std::vector<tg::Tensor>& params) {
    std::vector<double> v;
    for (const auto& p : params) {
        auto a = p.to_array<double>();
        v.insert(v.end(), a.begin(), a.end());
    }
    return v;
}

}  // namespace testing
