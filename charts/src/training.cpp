#include "tapegrad/charts/training.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/charts/plot.hpp"

namespace tapegrad::charts {

void plot_history(const optim::History& history, const std::filesystem::path& path) {
    std::vector<double> x;
    for (int e : history.epochs()) x.push_back(e + 1);
    LinePlot chart("Training history", "epoch", "loss");
    chart.add("loss", x, history.values("loss"));
    const auto val = history.values("val_loss");
    if (std::any_of(val.begin(), val.end(), [](double v) { return !std::isnan(v); }))
        chart.add("val_loss", x, val);
    chart.save(path);
}

void plot_lr_finder(const optim::LRFinderResult& result, const std::filesystem::path& path) {
    LinePlot chart("Learning-rate finder", "learning rate", "loss");
    chart.log_x();
    chart.add("loss", result.lrs, result.losses);
    chart.add("smoothed loss", result.lrs, result.smoothed);
    if (std::isfinite(result.suggested_lr)) {
        char label[64];
        std::snprintf(label, sizeof label, "suggested %g", result.suggested_lr);
        chart.mark_x(result.suggested_lr, label);
    }
    chart.save(path);
}

HistoryChart::HistoryChart(Options options) : options_(std::move(options)) {
    if (options_.path.empty()) throw ValueError("HistoryChart: the path of the SVG is empty");
}

void HistoryChart::on_train_end(optim::TrainState& state) {
    history_.on_train_end(state);
    plot_history(history_, options_.path);
}

}  // namespace tapegrad::charts
