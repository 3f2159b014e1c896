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

// ---- StepLR ------------------------------------------------------------------------------

StepLR::StepLR(Optimizer& optimizer, Options options)
    : LRScheduler(optimizer), step_size_(options.step_size), gamma_(options.gamma) {
    if (step_size_ < 1) {
        throw ValueError("StepLR: step_size must be >= 1 (it has no default), got " +
                         short_text(step_size_));
    }
    if (!(gamma_ >= 0)) throw ValueError("StepLR: gamma must be >= 0, got " + short_text(gamma_));
    initial_step();
}

std::vector<double> StepLR::get_lr() const {
    auto lrs = group_lrs();
    const auto e = last_epoch();
    if (e == 0 || e % step_size_ != 0) return lrs;
    for (auto& lr : lrs) lr *= gamma_;  // a step boundary: lr * gamma
    return lrs;
}

std::vector<double> StepLR::closed_form_lr() const {
    std::vector<double> lrs;
    for (double base : base_lrs())
        lrs.push_back(base * std::pow(gamma_, static_cast<double>(last_epoch() / step_size_)));
    return lrs;
}

// ---- ExponentialLR -----------------------------------------------------------------------

ExponentialLR::ExponentialLR(Optimizer& optimizer, Options options)
    : LRScheduler(optimizer), gamma_(options.gamma) {
    if (std::isnan(gamma_))
        throw ValueError("ExponentialLR: gamma is required (it has no default)");
    if (!(gamma_ >= 0))
        throw ValueError("ExponentialLR: gamma must be >= 0, got " + short_text(gamma_));
    initial_step();
}

std::vector<double> ExponentialLR::get_lr() const {
    auto lrs = group_lrs();
    if (last_epoch() == 0) return lrs;
    for (auto& lr : lrs) lr *= gamma_;
    return lrs;
}

std::vector<double> ExponentialLR::closed_form_lr() const {
    std::vector<double> lrs;
    for (double base : base_lrs())
        lrs.push_back(base * std::pow(gamma_, static_cast<double>(last_epoch())));
    return lrs;
}

// ---- CosineAnnealingLR -------------------------------------------------------------------

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, Options options)
    : LRScheduler(optimizer), T_max_(options.T_max), eta_min_(options.eta_min) {
    if (T_max_ < 1) {
        throw ValueError("CosineAnnealingLR: T_max must be >= 1 (it has no default), got " +
                         short_text(T_max_));
    }
    if (!(eta_min_ >= 0)) {
        throw ValueError("CosineAnnealingLR: eta_min must be >= 0, got " + short_text(eta_min_));
    }
    initial_step();
}

std::vector<double> CosineAnnealingLR::get_lr() const {
    constexpr double pi = std::numbers::pi;
    auto lrs = group_lrs();
    const auto e = last_epoch();
    const double T = static_cast<double>(T_max_);
    if (e == 0) return lrs;
    if ((e - 1 - T_max_) % (2 * T_max_) == 0) {
        // Leaving the minimum, where the ratio below would be 0/0: add the first rise.
        for (std::size_t g = 0; g < lrs.size(); ++g)
            lrs[g] = lrs[g] + (base_lrs()[g] - eta_min_) * (1 - std::cos(pi / T)) / 2;
        return lrs;
    }
    // (lr_e - eta_min) / (lr_{e-1} - eta_min) = (1 + cos(pi e / T)) / (1 + cos(pi (e-1) / T)).
    const double ratio = (1 + std::cos(pi * static_cast<double>(e) / T)) /
                         (1 + std::cos(pi * static_cast<double>(e - 1) / T));
    for (auto& lr : lrs) lr = ratio * (lr - eta_min_) + eta_min_;
    return lrs;
}

std::vector<double> CosineAnnealingLR::closed_form_lr() const {
    constexpr double pi = std::numbers::pi;
    std::vector<double> lrs;
    const double c = std::cos(pi * static_cast<double>(last_epoch()) / static_cast<double>(T_max_));
    for (double base : base_lrs()) lrs.push_back(eta_min_ + (base - eta_min_) * (1 + c) / 2);
    return lrs;
}

// ---- LinearLR ----------------------------------------------------------------------------

LinearLR::LinearLR(Optimizer& optimizer, Options options)
    : LRScheduler(optimizer),
      start_factor_(options.start_factor),
      end_factor_(options.end_factor),
      total_iters_(options.total_iters) {
    if (!(start_factor_ > 0 && start_factor_ <= 1)) {
        throw ValueError("LinearLR: start_factor must be in (0, 1], got " +
                         short_text(start_factor_));
    }
    if (!(end_factor_ >= 0 && end_factor_ <= 1)) {
        throw ValueError("LinearLR: end_factor must be in [0, 1], got " + short_text(end_factor_));
    }
    if (total_iters_ < 1) {
        throw ValueError("LinearLR: total_iters must be >= 1, got " + short_text(total_iters_));
    }
    initial_step();
}

std::vector<double> LinearLR::get_lr() const {
    auto lrs = group_lrs();
    const auto e = last_epoch();
    if (e == 0) {
        for (auto& lr : lrs) lr *= start_factor_;
        return lrs;
    }
    if (e > total_iters_) return lrs;
    // factor_e / factor_{e-1} = 1 + (end - start) / (total * start + (e - 1) * (end - start)).
    const double d = end_factor_ - start_factor_;
    const double ratio = 1. + d / (static_cast<double>(total_iters_) * start_factor_ +
                                   static_cast<double>(e - 1) * d);
    for (auto& lr : lrs) lr *= ratio;
    return lrs;
}

std::vector<double> LinearLR::closed_form_lr() const {
    std::vector<double> lrs;
    const double t = static_cast<double>(std::min(total_iters_, last_epoch()));
    for (double base : base_lrs()) {
        lrs.push_back(base * (start_factor_ + (end_factor_ - start_factor_) * t /
                                                  static_cast<double>(total_iters_)));
    }
    return lrs;
}

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
