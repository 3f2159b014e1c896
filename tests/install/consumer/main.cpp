// Includes an xtensor header of its own before tapegrad's (tapegrad/config.hpp comes first all
// the same), trains nothing, checks a gradient, a layer and the version.
#include <xtensor/xarray.hpp>

#include <cstdio>
#include <cstring>
#include <tapegrad/autodiff/autodiff.hpp>
#include <tapegrad/nn/nn.hpp>
#include <tapegrad/optim/optimizer.hpp>
#include <tapegrad/version.hpp>

int main() {
    auto x = tapegrad::scalar(3.0, tapegrad::f64).requires_grad_();
    tapegrad::Tape tape;
    tape.backward(tapegrad::square(x));
    tapegrad::nn::Linear layer(4, 2);
    xt::xarray<float> own = {1.0f, 2.0f};  // the program's own array, of the library's type
    const tapegrad::Tensor t = tapegrad::from_array(own);
    std::printf("grad %g, Linear parameters %zu, sum %g, version %s (headers %s)\n",
                x.grad().item(), layer.num_parameters(), tapegrad::sum(t).item(),
                tapegrad::version(), TAPEGRAD_VERSION);
    return std::strcmp(tapegrad::version(), TAPEGRAD_VERSION) == 0 ? 0 : 1;
}
