#include "tapegrad/nn/gradcheck.hpp"

namespace tapegrad::nn {

GradcheckReport gradcheck(const Module& model, const std::function<Tensor()>& loss,
                          const GradcheckOptions& options) {
    std::vector<Tensor> params;
    std::vector<std::string> names;
    for (auto& [name, p] : model.named_parameters()) {
        names.push_back(name);
        params.push_back(p);
    }
    return gradcheck_params(loss, params, options, names);
}

}  // namespace tapegrad::nn
