#include "optimizer_factory.hpp"

#include <array>
#include <sstream>

#include <tapegrad/autodiff/error.hpp>
#include <tapegrad/optim/optim.hpp>

#include "exit_status.hpp"

namespace tapegrad::cli {

namespace {

using optim::Optimizer;
using Params = std::vector<Tensor>;

// Adam, AdamW and RMSprop have Keras's default rates; L-BFGS's line search scales its step.
constexpr std::array<OptimizerChoice, 8> kOptimizers{{
    {"sgd", 0.1, "SGD", false,
     [](Params p, double lr) -> std::unique_ptr<Optimizer> {
         return std::make_unique<optim::SGD>(std::move(p), optim::SGDOptions{.lr = lr});
     }},
    {"momentum", 0.01, "SGD with momentum 0.9", false,
     [](Params p, double lr) -> std::unique_ptr<Optimizer> {
         return std::make_unique<optim::SGD>(std::move(p),
                                             optim::SGDOptions{.lr = lr, .momentum = 0.9});
     }},
    {"nesterov", 0.01, "SGD with Nesterov momentum 0.9", false,
     [](Params p, double lr) -> std::unique_ptr<Optimizer> {
         return std::make_unique<optim::SGD>(
             std::move(p), optim::SGDOptions{.lr = lr, .momentum = 0.9, .nesterov = true});
     }},
    {"adam", 1e-3, "Adam", false,
     [](Params p, double lr) -> std::unique_ptr<Optimizer> {
         return std::make_unique<optim::Adam>(std::move(p), optim::AdamOptions{.lr = lr});
     }},
    {"adamw", 1e-3, "AdamW, weight decay 0.01", false,
     [](Params p, double lr) -> std::unique_ptr<Optimizer> {
         return std::make_unique<optim::AdamW>(std::move(p), optim::AdamWOptions{.lr = lr});
     }},
    {"rmsprop", 1e-3, "RMSprop", false,
     [](Params p, double lr) -> std::unique_ptr<Optimizer> {
         return std::make_unique<optim::RMSprop>(std::move(p), optim::RMSpropOptions{.lr = lr});
     }},
    {"adagrad", 0.05, "Adagrad", false,
     [](Params p, double lr) -> std::unique_ptr<Optimizer> {
         return std::make_unique<optim::Adagrad>(std::move(p), optim::AdagradOptions{.lr = lr});
     }},
    {"lbfgs", 1.0, "L-BFGS with a strong-Wolfe line search, one full-batch step per epoch", true,
     [](Params p, double lr) -> std::unique_ptr<Optimizer> {
         return std::make_unique<optim::LBFGS>(
             std::move(p),
             optim::LBFGSOptions{.lr = lr, .line_search = optim::LineSearch::strong_wolfe});
     }},
}};

}  // namespace

std::span<const OptimizerChoice> optimizer_choices() {
    return kOptimizers;
}

const OptimizerChoice& find_optimizer(const std::string& name) {
    for (const auto& choice : kOptimizers)
        if (choice.name == name) return choice;
    std::string known;
    for (const auto& n : optimizer_names()) known += (known.empty() ? "" : ", ") + n;
    throw UsageError("--optim: unknown optimizer '" + name + "' (one of " + known + ")");
}

const std::vector<std::string>& optimizer_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> all;
        for (const auto& choice : kOptimizers) all.emplace_back(choice.name);
        return all;
    }();
    return names;
}

double default_lr(const std::string& name) {
    return find_optimizer(name).default_lr;
}

std::unique_ptr<optim::Optimizer> make_optimizer(const std::string& name, Params params,
                                                 double lr) {
    return find_optimizer(name).make(std::move(params), lr);
}

std::string optimizer_help() {
    std::ostringstream text;
    text << "the optimizer, with its learning rate when --lr is not given: ";
    for (const auto& choice : kOptimizers) {
        text << (&choice == kOptimizers.data() ? "" : ", ") << choice.name << " (" << choice.help
             << "; lr " << choice.default_lr << ")";
    }
    return text.str();
}

}  // namespace tapegrad::cli
