// The README's "Higher-order gradients": a Hessian in a few lines, in PyTorch's style
// (create_graph) and TensorFlow's (nested tapes), and the functional API.
#include <cstdio>
#include <tapegrad/autodiff/autodiff.hpp>

namespace tg = tapegrad;

int main() {
    // f(x) = Σ x³ · sin(x): a gradient that is itself differentiable.
    auto f = [](const tg::Tensor& x) { return tg::sum(tg::pow(x, 3.0) * tg::sin(x)); };
    tg::Tensor x = tg::tensor({0.5, -1.0, 2.0}, tg::f64).requires_grad_();

    // PyTorch's style: the backward pass recorded, then differentiated again.
    {
        tg::Tape tape;
        tg::Tensor g = tape.gradient(f(x), {x}, {.create_graph = true})[0];  // ∇f, recorded
        tg::Tensor hv = tape.gradient(tg::sum(g), {x})[0];                   // H·[1, 1, 1]
        std::printf("gradient    %s\n", tg::to_string(g).c_str());
        std::printf("H·[1, 1, 1] %s\n", tg::to_string(hv).c_str());
    }

    // TensorFlow's style: an outer tape records what the inner tape's gradient computes.
    tg::Tensor second;
    {
        tg::Tape outer;
        tg::Tensor dy;
        {
            tg::Tape inner;
            dy = inner.gradient(f(x), {x})[0];
        }
        second = outer.gradient(tg::sum(dy), {x})[0];
    }
    std::printf("nested tapes, the same: %s\n", tg::to_string(second).c_str());

    // The functional API: the whole Hessian, and H·v without forming it.
    tg::Tensor H = tg::hessian(f, x);  // [3, 3]; diagonal here, f is a sum of f(x_i)
    auto [value, Hv] = tg::hvp(f, x, tg::tensor({1.0, 0.0, 0.0}, tg::f64));
    std::printf("hessian     %s\n", tg::to_string(H).c_str());
    std::printf("f = %.4f, H·[1, 0, 0] = %s\n", value.item(), tg::to_string(Hv[0]).c_str());
}
