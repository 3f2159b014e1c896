// The quadratic walkthrough of the gradient-descent texts: minimise f(w) = (w - 3)² from
// w = 10 with learning rate 0.1 for 12 steps, printing w and the loss after each step in the
// text's own format (print(f"step {step:2d}: w={w:6.3f} loss={f(w):7.4f}")).
#include <cstdio>
#include <tapegrad/autodiff/autodiff.hpp>

namespace tg = tapegrad;

int main() {
    tg::Tensor w = tg::scalar(10.0, tg::f64).requires_grad_().name("w");
    auto f = [](const tg::Tensor& x) { return tg::square(x - 3.0); };
    const double lr = 0.1;
    std::printf("minimise f(w) = (w - 3)^2 from w = 10, learning rate %.1f\n", lr);
    for (int step = 0; step < 12; ++step) {
        {
            tg::Tape tape;
            tape.backward(f(w));  // w.grad() = 2(w - 3)
        }
        w -= lr * w.grad();  // the update is not recorded: it happens outside any tape
        w.zero_grad();
        std::printf("step %2d: w=%6.3f loss=%7.4f\n", step, w.item(), f(w).item());
    }
}
