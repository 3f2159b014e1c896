// History: every epoch's logs, kept and written as a CSV table (charts::HistoryChart draws them).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <set>

#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/formats/atomic_file.hpp"
#include "tapegrad/optim/callbacks.hpp"

namespace tapegrad::optim {

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
    formats::write_file_atomically(path, text);
}

}  // namespace tapegrad::optim
