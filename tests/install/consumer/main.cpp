#include <cstdio>
#include <tapegrad/autodiff/autodiff.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optimizer.hpp>

int main() {
    auto x = tapegrad::scalar(3.0, tapegrad::f64).requires_grad_();
    tapegrad::Tape tape;
    tape.backward(tapegrad::square(x));
    tapegrad::nn::Linear layer(4, 2);
    std::printf("grad %g, Linear parameters %zu\n", x.grad().item(), layer.num_parameters());
}
