// History: every epoch's logs, as a CSV table and an SVG of the loss curves.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <set>

#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/nn/plot.hpp"
#include "tapegrad/optim/callbacks.hpp"

namespace tapegrad::optim {

void detail::write_text_atomically(const std::filesystem::path& path, const std::string& text) {
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw IoError(path.string() + ": cannot open '" + tmp.string() + "' to write");
        out << text;
        out.flush();
        if (!out) {
            std::error_code ignored;
            std::filesystem::remove(tmp, ignored);
            throw IoError(path.string() + ": writing failed (disk full?)");
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        throw IoError(path.string() + ": cannot rename the temporary file over it");
    }
}

History::History(Options options) : options_(std::move(options)) {}

void History::on_train_begin(TrainState&) {
    logs_.clear();
    epochs_.clear();
}

void History::on_epoch_end(TrainState& state, Logs& logs) {
    logs_.push_back(logs);
    epochs_.push_back(state.epoch);
}

void History::on_train_end(TrainState&) {
    if (!options_.csv_path.empty()) save_csv(options_.csv_path);
    if (!options_.svg_path.empty()) plot(options_.svg_path);
}

std::vector<double> History::values(const std::string& name) const {
    std::vector<double> v;
    for (const auto& logs : logs_) {
        auto it = logs.find(name);
        v.push_back(it == logs.end() ? std::numeric_limits<double>::quiet_NaN() : it->second);
    }
    return v;
}

void History::save_csv(const std::filesystem::path& path) const {
    std::set<std::string> names;
    for (const auto& logs : logs_)
        for (const auto& [k, v] : logs) names.insert(k);
    std::string text = "epoch";
    for (const auto& n : names) text += "," + n;
    text += "\n";
    char buf[64];
    for (std::size_t i = 0; i < logs_.size(); ++i) {
        text += std::to_string(epochs_[i] + 1);
        for (const auto& n : names) {
            text += ",";
            auto it = logs_[i].find(n);
            if (it == logs_[i].end()) continue;
            std::snprintf(buf, sizeof buf, "%.10g", it->second);
            text += buf;
        }
        text += "\n";
    }
    detail::write_text_atomically(path, text);
}

void History::plot(const std::filesystem::path& path) const {
    std::vector<double> x;
    for (int e : epochs_) x.push_back(e + 1);
    nn::LinePlot chart("Training history", "epoch", "loss");
    chart.add("loss", x, values("loss"));
    const auto val = values("val_loss");
    if (std::any_of(val.begin(), val.end(), [](double v) { return !std::isnan(v); }))
        chart.add("val_loss", x, val);
    chart.save(path);
}

}  // namespace tapegrad::optim
