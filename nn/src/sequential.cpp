#include "tapegrad/nn/sequential.hpp"

#include "tapegrad/autodiff/error.hpp"

namespace tapegrad::nn {

Sequential& Sequential::push_back(std::shared_ptr<Module> m) {
    if (!m) throw ValueError("Sequential: cannot append a null module");
    register_module(std::to_string(layers_.size()), m);
    layers_.push_back(std::move(m));
    return *this;
}

Tensor Sequential::forward(const Tensor& x) {
    Tensor h = x;
    for (auto& layer : layers_) h = layer->forward(h);
    return h;
}

Module& Sequential::operator[](std::size_t i) const {
    if (i >= layers_.size()) {
        throw ValueError("Sequential: index " + std::to_string(i) + " out of range (" +
                         std::to_string(layers_.size()) + " layers)");
    }
    return *layers_[i];
}

}  // namespace tapegrad::nn
