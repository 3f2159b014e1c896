// The ten-line example of the README, kept compiling and running (a ctest runs it).
#include <iostream>
#include <tapegrad/autodiff/autodiff.hpp>
namespace tg = tapegrad;

int main() {
    tg::Tensor w = tg::randn({2, 1}, /*seed=*/0).requires_grad_().name("w");
    tg::Tensor x = tg::tensor({{1, 2}, {3, 4}, {5, 6}}), y = tg::tensor({{1}, {2}, {3}});
    for (int step = 0; step < 100; ++step) {
        tg::Tape tape;  // records while it is alive
        tg::Tensor loss = tg::mean(tg::square(tg::matmul(x, w) - y));
        tape.backward(loss);   // w.grad() += d loss / d w
        w -= 0.01 * w.grad();  // updates are never recorded
        w.zero_grad();
    }
    auto report = tg::gradcheck([](const tg::Tensor& v) { return tg::sum(tg::tanh(v)); },
                                {tg::randn({3, 4}, 1, tg::f64)});
    std::cout << w << "\n" << report << "\n";
    return report.passed ? 0 : 1;
}
