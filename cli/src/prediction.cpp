#include "prediction.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

#include <tapegrad/autodiff/error.hpp>
#include <tapegrad/autodiff/tape.hpp>
#include <tapegrad/data/readers.hpp>
#include <tapegrad/nn/metrics.hpp>
#include <tapegrad/optim/fit.hpp>

#include "objective.hpp"

namespace tapegrad::cli {

namespace {

// The shortest text that reads back as the same number (what the training file most likely
// held, for a class label).
template <class T>
std::string shortest(T v) {
    char buf[64];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, end);
}

// Where the model's columns are in the file.
struct Columns {
    std::vector<std::size_t> features;  // in the model's order
    std::optional<std::size_t> target;
    std::vector<std::string> ignored;
};

std::string joined(const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "'" : ", '") + n + "'";
    return s;
}

Columns find_columns(const std::string& file, const std::vector<std::string>& header,
                     const ModelDescription& d) {
    std::map<std::string, std::vector<std::size_t>> where;
    for (std::size_t i = 0; i < header.size(); ++i) where[header[i]].push_back(i);
    Columns c;
    std::vector<std::string> missing, twice;
    for (const auto& name : d.features) {
        const auto it = where.find(name);
        if (it == where.end()) {
            missing.push_back(name);
        } else {
            if (it->second.size() > 1) twice.push_back(name);
            c.features.push_back(it->second.front());
        }
    }
    if (!missing.empty()) {
        throw IoError(file + ": " + std::to_string(missing.size()) + " of the model's " +
                      std::to_string(d.features.size()) +
                      " feature columns are missing: " + joined(missing));
    }
    if (!twice.empty()) throw IoError(file + ": more than one column is named " + joined(twice));
    if (const auto it = where.find(d.target); it != where.end()) c.target = it->second.front();
    for (const auto& name : header) {
        const bool used = name == d.target ||
                          std::find(d.features.begin(), d.features.end(), name) != d.features.end();
        if (!used) c.ignored.push_back(name);
    }
    return c;
}

// The columns of values [rows, columns] at these indices, in this order.
Tensor take_columns(const Tensor& values, const std::vector<std::size_t>& columns) {
    const auto& v = values.value<float>();
    const std::size_t rows = values.shape()[0];
    xt::xarray<float> out = xt::xarray<float>::from_shape({rows, columns.size()});
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < columns.size(); ++j) out(r, j) = v(r, columns[j]);
    return Tensor(std::move(out));
}

// A NaN or infinite feature would give a prediction that looks like any other (a NaN logit is
// class 0), so it is refused, with its place in the file.
void check_finite(const std::string& file, const Tensor& x, const std::vector<std::string>& names) {
    const auto& v = x.value<float>();
    for (std::size_t r = 0; r < x.shape()[0]; ++r) {
        for (std::size_t j = 0; j < names.size(); ++j) {
            if (std::isfinite(v(r, j))) continue;
            throw IoError(file + ": data row " + std::to_string(r + 1) +
                          " (after the header), column '" + names[j] + "': " + shortest(v(r, j)) +
                          " is not a value the model can predict from; remove or impute it first");
        }
    }
}

// One column of values [rows, columns], as a [rows] tensor.
Tensor take_column(const Tensor& values, std::size_t column) {
    const auto& v = values.value<float>();
    const std::size_t rows = values.shape()[0];
    xt::xarray<float> out = xt::xarray<float>::from_shape({rows});
    for (std::size_t r = 0; r < rows; ++r) out(r) = v(r, column);
    return Tensor(std::move(out));
}

// The model's outputs in evaluation mode, nothing recorded; the model's mode is restored.
Tensor outputs_of(nn::Module& model, const Tensor& x) {
    const bool was_training = model.is_training();
    model.eval();
    NoGrad no_grad;
    Tensor out = model(x);
    model.train(was_training);
    return out;
}

// A CSV header cell, quoted when it must be.
std::string csv_cell(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return q + "\"";
}

std::string predictions_csv(const ModelDescription& d, const Tensor& out) {
    std::string csv = csv_cell(d.target) + "\n";
    if (d.classify) {
        for (std::size_t k : nn::metrics::predict_classes(out, kLogitThreshold))
            csv += shortest(d.classes[k]) + "\n";
        return csv;
    }
    const Tensor values = d.target_scaler.fitted() ? d.target_scaler.inverse_transform(out) : out;
    for (float v : values.value<float>()) csv += shortest(v) + "\n";
    return csv;
}

std::string fmt(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4f", v);
    return buf;
}

// The loss and the metric as `train` reports them: on the encoded and (for a regression)
// standardised target.
std::string metrics_of(nn::Module& model, const ModelDescription& d, const Tensor& x,
                       const Tensor& target) {
    Tensor y = encode_targets(d.classes, target);
    if (d.target_scaler.fitted()) y = d.target_scaler.transform(y);
    const Objective objective = objective_for(d.classes);
    const auto logs =
        optim::evaluate(model, objective.loss, {x, y}, objective.metrics, kLogitThreshold);
    const std::string& metric = objective.metrics.front();
    return "loss=" + fmt(logs.at("loss")) + " " + metric + "=" + fmt(logs.at(metric));
}

}  // namespace

std::string Predictions::summary() const {
    return std::to_string(rows) + " rows" + (metrics.empty() ? "" : ": " + metrics);
}

Predictions predict_csv(nn::Module& model, const ModelDescription& d,
                        const std::filesystem::path& data) {
    const data::CsvTable table = data::read_csv_table(data);
    const Columns columns = find_columns(data.string(), table.columns, d);
    Predictions p;
    p.rows = table.values.shape()[0];
    p.ignored = columns.ignored;
    Tensor x = take_columns(table.values, columns.features);
    check_finite(data.string(), x, d.features);
    if (d.feature_scaler.fitted()) x = d.feature_scaler.transform(x);
    if (p.rows == 0) {
        p.csv = csv_cell(d.target) + "\n";
        return p;
    }
    p.csv = predictions_csv(d, outputs_of(model, x));
    if (columns.target && p.rows >= 2) {
        p.metrics = metrics_of(model, d, x, take_column(table.values, *columns.target));
    }
    return p;
}

}  // namespace tapegrad::cli
