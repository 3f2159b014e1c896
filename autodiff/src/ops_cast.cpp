// Conversion between float32 and float64, an op like the others: the value is converted on the
// way forward and the gradient converted back on the way back. Tensor::to calls it.
#include "tapegrad/autodiff/op.hpp"
#include "tapegrad/autodiff/ops.hpp"

namespace tapegrad {

namespace {

template <class To>
struct CastTo {
    static constexpr OpInfo info{.name = "to",
                                 .rule = "∂out/∂x = 1 (the gradient converted to x's dtype)",
                                 .elementwise = true};
    template <class T>
    using Output = To;
    template <class T>
    static xt::xarray<To> forward(const Inputs<T>& in, const OpArgs&) {
        return xt::cast<To>(*in[0]);
    }
    template <class T>
    static void backward(BackwardContext<T>& c) {
        c.accumulate(0, xt::cast<T>(c.template grad_as<To>()));
    }
    static void backward_graph(GraphContext& c) {
        c.accumulate(0, to_dtype(c.grad(), c.in(0).dtype()));
    }
};

}  // namespace

Tensor to_dtype(const Tensor& a, Dtype dtype) {
    if (a.dtype() == dtype) return a;  // PyTorch's .to returns the tensor itself
    return dtype == f32 ? apply<CastTo<float>>({&a}) : apply<CastTo<double>>({&a});
}

}  // namespace tapegrad
