#pragma once
// Sequential: modules applied one after the other, named "0", "1", ... as in PyTorch:
//   tg::nn::Sequential model{tg::nn::Linear(2, 16), tg::nn::Tanh(), tg::nn::Linear(16, 1)};
#include <memory>
#include <type_traits>
#include <utility>

#include "tapegrad/nn/module.hpp"

namespace tapegrad::nn {

class Sequential : public Module {
  public:
    Sequential() = default;
    template <class... M>
    requires(sizeof...(M) > 0 && (std::is_base_of_v<Module, std::decay_t<M>> &&
                                  ...)) explicit Sequential(M&&... modules) {
        (push_back(std::forward<M>(modules)), ...);
    }

    // Appends a module (moved or copied in; a copy shares the parameters of the original).
    template <class M>
    requires std::is_base_of_v<Module, std::decay_t<M>> Sequential& push_back(M&& m) {
        return push_back(std::make_shared<std::decay_t<M>>(std::forward<M>(m)));
    }
    Sequential& push_back(std::shared_ptr<Module> m);

    // An error in layer i is rethrown, same type, as "Sequential layer i (Linear): <message>".
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Sequential"; }

    std::size_t size() const { return layers_.size(); }
    Module& operator[](std::size_t i) const;
    // Layer i as its own type (nullptr when it is another type).
    template <class M>
    M* get(std::size_t i) const {
        return dynamic_cast<M*>(&(*this)[i]);
    }

  private:
    std::vector<std::shared_ptr<Module>> layers_;
};

}  // namespace tapegrad::nn
