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
    // An error inside a layer says which layer it was: "Sequential layer 2 (Linear): ...".
    // The exception keeps its type; other exceptions pass through as they are.
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        const auto where = [&] {
            return "Sequential layer " + std::to_string(i) + " (" + layers_[i]->type_name() + "): ";
        };
        try {
            h = layers_[i]->forward(h);
        } catch (const ShapeError& e) {
            throw ShapeError(where() + e.what());
        } catch (const DtypeError& e) {
            throw DtypeError(where() + e.what());
        } catch (const ValueError& e) {
            throw ValueError(where() + e.what());
        } catch (const TapeError& e) {
            throw TapeError(where() + e.what());
        }
    }
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
