#include "optimizer_factory.hpp"

#include <tapegrad/autodiff/error.hpp>
#include <tapegrad/optim/optim.hpp>

namespace tapegrad::cli {

const std::vector<std::string>& optimizer_names() {
    static const std::vector<std::string> names = {"sgd",   "momentum", "nesterov", "adam",
                                                   "adamw", "rmsprop",  "adagrad",  "lbfgs"};
    return names;
}

double default_lr(const std::string& name) {
    if (name == "sgd") return 0.1;
    if (name == "momentum" || name == "nesterov") return 0.01;
    if (name == "adagrad") return 0.05;
    if (name == "lbfgs") return 1.0;
    return 1e-3;  // adam, adamw, rmsprop: Keras's defaults
}

std::unique_ptr<optim::Optimizer> make_optimizer(const std::string& name,
                                                 std::vector<Tensor> params, double lr) {
    using namespace optim;
    if (name == "sgd") return std::make_unique<SGD>(std::move(params), SGDOptions{.lr = lr});
    if (name == "momentum") {
        return std::make_unique<SGD>(std::move(params), SGDOptions{.lr = lr, .momentum = 0.9});
    }
    if (name == "nesterov") {
        return std::make_unique<SGD>(std::move(params),
                                     SGDOptions{.lr = lr, .momentum = 0.9, .nesterov = true});
    }
    if (name == "adam") return std::make_unique<Adam>(std::move(params), AdamOptions{.lr = lr});
    if (name == "adamw") return std::make_unique<AdamW>(std::move(params), AdamWOptions{.lr = lr});
    if (name == "rmsprop") {
        return std::make_unique<RMSprop>(std::move(params), RMSpropOptions{.lr = lr});
    }
    if (name == "adagrad") {
        return std::make_unique<Adagrad>(std::move(params), AdagradOptions{.lr = lr});
    }
    if (name == "lbfgs") {
        return std::make_unique<LBFGS>(
            std::move(params), LBFGSOptions{.lr = lr, .line_search = LineSearch::strong_wolfe});
    }
    std::string known;
    for (const auto& n : optimizer_names()) known += (known.empty() ? "" : ", ") + n;
    throw ValueError("--optim: unknown optimizer '" + name + "' (one of " + known + ")");
}

}  // namespace tapegrad::cli
