#include <cstdio>
#include <tapegrad/autodiff/autodiff.hpp>

int main() {
    auto x = tapegrad::scalar(3.0, tapegrad::f64).requires_grad_();
    tapegrad::Tape tape;
    tape.backward(tapegrad::square(x));
    std::printf("grad %g\n", x.grad().item());
}
