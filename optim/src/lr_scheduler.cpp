#include "tapegrad/optim/lr_scheduler.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <numbers>

#include "tapegrad/autodiff/creation.hpp"
#include "tapegrad/autodiff/error.hpp"

namespace tapegrad::optim {

namespace {

std::atomic<std::uint64_t> next_serial{0};

double read_key(const StateDict& d, const std::string& key, const std::string& who) {
    auto it = d.find(key);
    if (it == d.end()) throw ValueError(who + ".load_state_dict: missing key '" + key + "'");
    return it->second.item();
}

std::vector<double> read_list(const StateDict& d, const std::string& prefix, std::size_t n,
                              const std::string& who) {
    std::vector<double> out(n);
    for (std::size_t g = 0; g < n; ++g) out[g] = read_key(d, prefix + std::to_string(g), who);
    if (d.count(prefix + std::to_string(n))) {
        throw ValueError(who + ".load_state_dict: '" + prefix + std::to_string(n) +
                         "' names a parameter group this optimizer does not have (it has " +
                         std::to_string(n) + ")");
    }
    return out;
}

}  // namespace

// ---- LRScheduler -------------------------------------------------------------------------

LRScheduler::LRScheduler(Optimizer& optimizer)
    : optimizer_(&optimizer), serial_(next_serial.fetch_add(1)) {
    base_lrs_ = group_lrs();
}

std::vector<double> LRScheduler::group_lrs() const {
    std::vector<double> lrs;
    for (const auto& g : optimizer_->param_groups()) lrs.push_back(g.lr);
    return lrs;
}

void LRScheduler::apply(const std::vector<double>& lrs) {
    auto& groups = optimizer_->param_groups();
    for (std::size_t g = 0; g < groups.size(); ++g) groups[g].lr = lrs[g];
    last_lr_ = lrs;
}

void LRScheduler::initial_step() {
    last_epoch_ = -1;
    step();
}

void LRScheduler::step() {
    if (optimizer_->param_groups().size() != base_lrs_.size()) {
        throw ValueError(name() + ".step: the optimizer has " +
                         std::to_string(optimizer_->param_groups().size()) +
                         " parameter groups but the schedule was made for " +
                         std::to_string(base_lrs_.size()));
    }
    ++last_epoch_;
    apply(get_lr());
}

std::vector<double> LRScheduler::closed_form_lr() const {
    throw ValueError(name() + " has no closed form to jump to an epoch with");
}

void LRScheduler::step_to(std::int64_t epoch) {
    last_epoch_ = epoch;
    apply(closed_form_lr());
}

StateDict LRScheduler::state_dict() const {
    StateDict d;
    d["last_epoch"] = scalar(static_cast<double>(last_epoch_), f64);
    for (std::size_t g = 0; g < base_lrs_.size(); ++g)
        d["base_lrs." + std::to_string(g)] = scalar(base_lrs_[g], f64);
    for (std::size_t g = 0; g < last_lr_.size(); ++g)
        d["last_lr." + std::to_string(g)] = scalar(last_lr_[g], f64);
    return d;
}

void LRScheduler::load_state_dict(const StateDict& d) {
    const std::size_t n = optimizer_->param_groups().size();
    const auto epoch = static_cast<std::int64_t>(read_key(d, "last_epoch", name()));
    auto base = read_list(d, "base_lrs.", n, name());
    auto last = read_list(d, "last_lr.", n, name());
    last_epoch_ = epoch;
    base_lrs_ = std::move(base);
    last_lr_ = std::move(last);
}

// ---- FormulaLR: each schedule's validation and formulas -----------------------------------
// For each options type: check(o) throws for an option out of its domain; next_lr(o, lr,
// base_lr, e) is the group's lr at epoch e from its lr at e - 1 (the recursive form);
// lr_at(o, base_lr, e) is the closed form.

namespace {

// The name each schedule gives itself in messages.
template <class O>
constexpr const char* schedule_name = nullptr;
template <>
constexpr const char* schedule_name<StepLROptions> = "StepLR";
template <>
constexpr const char* schedule_name<ExponentialLROptions> = "ExponentialLR";
template <>
constexpr const char* schedule_name<CosineAnnealingLROptions> = "CosineAnnealingLR";
template <>
constexpr const char* schedule_name<LinearLROptions> = "LinearLR";

// StepLR: lr = base_lr * gamma^floor(e / step_size).
void check(const StepLROptions& o) {
    if (o.step_size < 1) {
        throw ValueError("StepLR: step_size must be >= 1 (it has no default), got " +
                         short_text(o.step_size));
    }
    if (!(o.gamma >= 0)) throw ValueError("StepLR: gamma must be >= 0, got " + short_text(o.gamma));
}
double next_lr(const StepLROptions& o, double lr, double, std::int64_t e) {
    return e == 0 || e % o.step_size != 0 ? lr : lr * o.gamma;  // lr * gamma at a boundary
}
double lr_at(const StepLROptions& o, double base_lr, std::int64_t e) {
    return base_lr * std::pow(o.gamma, static_cast<double>(e / o.step_size));
}

// ExponentialLR: lr = base_lr * gamma^e.
void check(const ExponentialLROptions& o) {
    if (std::isnan(o.gamma))
        throw ValueError("ExponentialLR: gamma is required (it has no default)");
    if (!(o.gamma >= 0))
        throw ValueError("ExponentialLR: gamma must be >= 0, got " + short_text(o.gamma));
}
double next_lr(const ExponentialLROptions& o, double lr, double, std::int64_t e) {
    return e == 0 ? lr : lr * o.gamma;
}
double lr_at(const ExponentialLROptions& o, double base_lr, std::int64_t e) {
    return base_lr * std::pow(o.gamma, static_cast<double>(e));
}

// CosineAnnealingLR: lr = eta_min + (base_lr - eta_min) * (1 + cos(pi e / T_max)) / 2.
void check(const CosineAnnealingLROptions& o) {
    if (o.T_max < 1) {
        throw ValueError("CosineAnnealingLR: T_max must be >= 1 (it has no default), got " +
                         short_text(o.T_max));
    }
    if (!(o.eta_min >= 0)) {
        throw ValueError("CosineAnnealingLR: eta_min must be >= 0, got " + short_text(o.eta_min));
    }
}
double next_lr(const CosineAnnealingLROptions& o, double lr, double base_lr, std::int64_t e) {
    constexpr double pi = std::numbers::pi;
    const double T = static_cast<double>(o.T_max);
    if (e == 0) return lr;
    // Leaving the minimum, where the ratio below would be 0/0: add the first rise.
    if ((e - 1 - o.T_max) % (2 * o.T_max) == 0)
        return lr + (base_lr - o.eta_min) * (1 - std::cos(pi / T)) / 2;
    // (lr_e - eta_min) / (lr_{e-1} - eta_min) = (1 + cos(pi e / T)) / (1 + cos(pi (e-1) / T)).
    const double ratio = (1 + std::cos(pi * static_cast<double>(e) / T)) /
                         (1 + std::cos(pi * static_cast<double>(e - 1) / T));
    return ratio * (lr - o.eta_min) + o.eta_min;
}
double lr_at(const CosineAnnealingLROptions& o, double base_lr, std::int64_t e) {
    const double c =
        std::cos(std::numbers::pi * static_cast<double>(e) / static_cast<double>(o.T_max));
    return o.eta_min + (base_lr - o.eta_min) * (1 + c) / 2;
}

// LinearLR: lr = base_lr * (start + (end - start) * min(e, total_iters) / total_iters).
void check(const LinearLROptions& o) {
    if (!(o.start_factor > 0 && o.start_factor <= 1)) {
        throw ValueError("LinearLR: start_factor must be in (0, 1], got " +
                         short_text(o.start_factor));
    }
    if (!(o.end_factor >= 0 && o.end_factor <= 1))
        throw ValueError("LinearLR: end_factor must be in [0, 1], got " + short_text(o.end_factor));
    if (o.total_iters < 1)
        throw ValueError("LinearLR: total_iters must be >= 1, got " + short_text(o.total_iters));
}
double next_lr(const LinearLROptions& o, double lr, double, std::int64_t e) {
    if (e == 0) return lr * o.start_factor;
    if (e > o.total_iters) return lr;
    // factor_e / factor_{e-1} = 1 + (end - start) / (total * start + (e - 1) * (end - start)).
    const double d = o.end_factor - o.start_factor;
    return lr * (1. + d / (static_cast<double>(o.total_iters) * o.start_factor +
                           static_cast<double>(e - 1) * d));
}
double lr_at(const LinearLROptions& o, double base_lr, std::int64_t e) {
    const double t = static_cast<double>(std::min(o.total_iters, e));
    return base_lr * (o.start_factor +
                      (o.end_factor - o.start_factor) * t / static_cast<double>(o.total_iters));
}

}  // namespace

// ---- FormulaLR: the loop over groups, once ------------------------------------------------

template <class O>
FormulaLR<O>::FormulaLR(Optimizer& optimizer, Options options)
    : LRScheduler(optimizer), options_(options) {
    check(options_);
    initial_step();
}

template <class O>
std::vector<double> FormulaLR<O>::get_lr() const {
    std::vector<double> lrs = group_lrs();
    for (std::size_t g = 0; g < lrs.size(); ++g)
        lrs[g] = next_lr(options_, lrs[g], base_lrs()[g], last_epoch());
    return lrs;
}

template <class O>
std::vector<double> FormulaLR<O>::closed_form_lr() const {
    std::vector<double> lrs;
    for (double base : base_lrs()) lrs.push_back(lr_at(options_, base, last_epoch()));
    return lrs;
}

template <class O>
std::string FormulaLR<O>::name() const {
    return schedule_name<O>;
}

template class FormulaLR<StepLROptions>;
template class FormulaLR<ExponentialLROptions>;
template class FormulaLR<CosineAnnealingLROptions>;
template class FormulaLR<LinearLROptions>;

// ---- SequentialLR ------------------------------------------------------------------------

SequentialLR::SequentialLR(Optimizer& optimizer, Options options)
    : LRScheduler(optimizer),
      schedulers_(std::move(options.schedulers)),
      milestones_(std::move(options.milestones)) {
    if (schedulers_.empty()) throw ValueError("SequentialLR: no schedulers given");
    for (std::size_t k = 0; k < schedulers_.size(); ++k) {
        if (&schedulers_[k].get().optimizer() != &optimizer) {
            throw ValueError("SequentialLR: scheduler " + std::to_string(k) +
                             " drives another optimizer than the one given");
        }
    }
    if (milestones_.size() + 1 != schedulers_.size()) {
        throw ValueError("SequentialLR: expected " + std::to_string(schedulers_.size() - 1) +
                         " milestones (one fewer than the " + std::to_string(schedulers_.size()) +
                         " schedulers), got " + std::to_string(milestones_.size()));
    }
    for (std::size_t k = 0; k < milestones_.size(); ++k) {
        if (milestones_[k] < 1 || (k > 0 && milestones_[k] <= milestones_[k - 1])) {
            throw ValueError("SequentialLR: milestones must be positive and increasing");
        }
    }
    // The learning rates before any of them ran: the base LRs of the one made first (PyTorch's
    // group['initial_lr'], which every scheduler of the optimizer shares).
    const LRScheduler* first = &schedulers_[0].get();
    for (auto& s : schedulers_)
        if (s.get().serial_ < first->serial_) first = &s.get();
    const std::vector<double> initial = first->base_lrs_;
    if (initial.size() != optimizer.param_groups().size()) {
        throw ValueError(
            "SequentialLR: the optimizer gained parameter groups after its "
            "schedulers were made");
    }
    base_lrs_ = initial;
    for (auto& s : schedulers_) {
        s.get().base_lrs_ = initial;
        s.get().last_epoch_ -= 1;  // undo their construction step, as PyTorch does
    }
    apply(initial);
    schedulers_[0].get().initial_step();
    last_epoch_ = 0;
    last_lr_ = schedulers_[0].get().get_last_lr();
}

void SequentialLR::step() {
    ++last_epoch_;
    const auto idx = static_cast<std::size_t>(
        std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) -
        milestones_.begin());
    LRScheduler& s = schedulers_[idx].get();
    if (idx > 0 && milestones_[idx - 1] == last_epoch_) {
        s.step_to(0);  // the next schedule starts at its own epoch 0, from the base LRs
    } else {
        s.step();
    }
    last_lr_ = s.get_last_lr();
}

StateDict SequentialLR::state_dict() const {
    StateDict d = LRScheduler::state_dict();
    for (std::size_t k = 0; k < schedulers_.size(); ++k) {
        for (auto& [key, value] : schedulers_[k].get().state_dict())
            d["schedulers." + std::to_string(k) + "." + key] = value;
    }
    return d;
}

void SequentialLR::load_state_dict(const StateDict& d) {
    std::vector<StateDict> parts(schedulers_.size());
    StateDict own;
    for (const auto& [key, value] : d) {
        if (key.rfind("schedulers.", 0) != 0) {
            own[key] = value;
            continue;
        }
        const auto dot = key.find('.', 11);
        const std::string index = key.substr(11, dot == std::string::npos ? dot : dot - 11);
        const bool numeric = !index.empty() && dot != std::string::npos &&
                             index.find_first_not_of("0123456789") == std::string::npos;
        // More than 9 digits would overflow stoul's range checks: no such scheduler anyway.
        const std::size_t k = numeric && index.size() <= 9 ? std::stoul(index) : parts.size();
        if (k >= parts.size()) {
            throw ValueError("SequentialLR.load_state_dict: '" + key +
                             "' names a scheduler this SequentialLR does not have");
        }
        parts[k][key.substr(dot + 1)] = value;
    }
    // On a bad dict, put back what was there: loading is all or nothing.
    const StateDict own_before = LRScheduler::state_dict();
    std::vector<StateDict> before;
    for (auto& s : schedulers_) before.push_back(s.get().state_dict());
    try {
        LRScheduler::load_state_dict(own);
        for (std::size_t k = 0; k < schedulers_.size(); ++k)
            schedulers_[k].get().load_state_dict(parts[k]);
    } catch (...) {
        LRScheduler::load_state_dict(own_before);
        for (std::size_t k = 0; k < schedulers_.size(); ++k)
            schedulers_[k].get().load_state_dict(before[k]);
        throw;
    }
}

// ---- ReduceLROnPlateau -------------------------------------------------------------------

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, Options options)
    : optimizer_(&optimizer), options_(options) {
    auto bad = [](const std::string& what) {
        throw ValueError("ReduceLROnPlateau: invalid " + what);
    };
    if (!(options.factor >= 0 && options.factor < 1))
        bad("factor " + short_text(options.factor) + " (must be in [0, 1))");
    if (options.patience < 0) bad("patience " + short_text(options.patience) + " (must be >= 0)");
    if (!(options.threshold >= 0))
        bad("threshold " + short_text(options.threshold) + " (must be >= 0)");
    if (options.cooldown < 0) bad("cooldown " + short_text(options.cooldown) + " (must be >= 0)");
    if (!(options.min_lr >= 0)) bad("min_lr " + short_text(options.min_lr) + " (must be >= 0)");
    if (!(options.eps >= 0)) bad("eps " + short_text(options.eps) + " (must be >= 0)");
    const double inf = std::numeric_limits<double>::infinity();
    best_ = options.mode == PlateauMode::min ? inf : -inf;
    for (const auto& g : optimizer.param_groups()) last_lr_.push_back(g.lr);
}

bool ReduceLROnPlateau::is_better(double a, double best) const {
    const double t = options_.threshold;
    if (options_.mode == PlateauMode::min) {
        return options_.threshold_mode == ThresholdMode::rel ? a < best * (1. - t) : a < best - t;
    }
    return options_.threshold_mode == ThresholdMode::rel ? a > best * (t + 1.) : a > best + t;
}

void ReduceLROnPlateau::step(double metric) {
    ++last_epoch_;
    if (is_better(metric, best_)) {
        best_ = metric;
        num_bad_epochs_ = 0;
    } else {
        ++num_bad_epochs_;
    }
    if (in_cooldown()) {
        --cooldown_counter_;
        num_bad_epochs_ = 0;  // bad epochs in cooldown are not counted
    }
    auto& groups = optimizer_->param_groups();
    if (num_bad_epochs_ > options_.patience) {
        for (auto& g : groups) {
            const double new_lr = std::max(g.lr * options_.factor, options_.min_lr);
            if (g.lr - new_lr > options_.eps) g.lr = new_lr;
        }
        cooldown_counter_ = options_.cooldown;
        num_bad_epochs_ = 0;
    }
    last_lr_.clear();
    for (const auto& g : groups) last_lr_.push_back(g.lr);
}

StateDict ReduceLROnPlateau::state_dict() const {
    StateDict d;
    d["best"] = scalar(best_, f64);
    d["num_bad_epochs"] = scalar(static_cast<double>(num_bad_epochs_), f64);
    d["cooldown_counter"] = scalar(static_cast<double>(cooldown_counter_), f64);
    d["last_epoch"] = scalar(static_cast<double>(last_epoch_), f64);
    for (std::size_t g = 0; g < last_lr_.size(); ++g)
        d["last_lr." + std::to_string(g)] = scalar(last_lr_[g], f64);
    return d;
}

void ReduceLROnPlateau::load_state_dict(const StateDict& d) {
    const std::string who = "ReduceLROnPlateau";
    const double best = read_key(d, "best", who);
    const auto bad = static_cast<std::int64_t>(read_key(d, "num_bad_epochs", who));
    const auto cooldown = static_cast<std::int64_t>(read_key(d, "cooldown_counter", who));
    const auto epoch = static_cast<std::int64_t>(read_key(d, "last_epoch", who));
    auto last = read_list(d, "last_lr.", optimizer_->param_groups().size(), who);
    best_ = best;
    num_bad_epochs_ = bad;
    cooldown_counter_ = cooldown;
    last_epoch_ = epoch;
    last_lr_ = std::move(last);
}

}  // namespace tapegrad::optim
