#pragma once
// Pictures of a training run, kept apart from the training loop: fit reaches them only
// through a callback the caller chooses (HistoryChart), and the LR finder's sweep is drawn
// from its result.
//
//   tg::optim::History history({.csv_path = "history.csv"});
//   tg::charts::HistoryChart chart({.path = "curves.svg"});
//   tg::optim::fit(model, opt, loss, loader, {.epochs = 20, .callbacks = {&history, &chart}});
#include <filesystem>

#include "tapegrad/optim/callbacks.hpp"

namespace tapegrad::charts {

// loss and val_loss (when present) against the 1-based epoch, as an SVG line chart.
void plot_history(const optim::History& history, const std::filesystem::path& path);
// The sweep: raw and smoothed loss against lr on a log axis, a marker at the suggestion.
void plot_lr_finder(const optim::LRFinderResult& result, const std::filesystem::path& path);

struct HistoryChartOptions {
    std::filesystem::path path{};  // the SVG written when training ends
};

// Keeps every epoch's logs (a History of its own) and draws them when training ends, also
// when it ends with an exception: a crashed run keeps its curve.
class HistoryChart : public optim::Callback {
  public:
    using Options = HistoryChartOptions;
    // ValueError for an empty path.
    explicit HistoryChart(Options options);

    void on_train_begin(optim::TrainState& state) override { history_.on_train_begin(state); }
    void on_epoch_end(optim::TrainState& state, optim::Logs& logs) override {
        history_.on_epoch_end(state, logs);
    }
    void on_train_end(optim::TrainState& state) override;

    const optim::History& history() const { return history_; }

  private:
    Options options_;
    optim::History history_;
};

}  // namespace tapegrad::charts
