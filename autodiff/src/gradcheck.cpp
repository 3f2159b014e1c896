#include "tapegrad/autodiff/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <ostream>

#include "tapegrad/autodiff/creation.hpp"
#include "tapegrad/autodiff/ops.hpp"
#include "tapegrad/autodiff/tape.hpp"

namespace tapegrad {

namespace {

Shape unravel(std::size_t flat, const Shape& shape) {
    Shape idx(shape.size());
    for (std::size_t d = shape.size(); d-- > 0;) {
        idx[d] = flat % shape[d];
        flat /= shape[d];
    }
    return idx;
}

// The function's value as float64, whatever f returned; f must keep to float64.
xt::xarray<double> evaluate(const GradcheckFn& f, const std::vector<Tensor>& xs) {
    NoGrad no_grad;
    Tensor y = f(xs);
    if (!y.defined()) throw Error("gradcheck: the function returned an undefined tensor");
    if (y.dtype() != f64) {
        throw DtypeError(
            "gradcheck: the function returned float32; gradient checks need float64 "
            "all the way (convert parameters with .to(f64))");
    }
    return y.value<double>();
}

// Fresh float64 leaves that require grad: the caller's tensors stay as they were.
std::vector<Tensor> float64_copies(const std::vector<Tensor>& inputs) {
    std::vector<Tensor> xs;
    for (const auto& t : inputs) {
        Tensor x = t.dtype() == f64 ? t.detach() : t.to(f64).detach();
        xs.push_back(x.requires_grad_());
    }
    return xs;
}

struct Checker {
    const GradcheckOptions& opt;
    GradcheckReport report;
    double worst_ratio = -1;
    std::vector<GradcheckEntry>* entries = nullptr;  // every comparison, for gradcheck_table

    void compare(double analytic, double numeric, std::size_t input, const Shape& index,
                 const std::string& output) {
        ++report.checked;
        const double err = std::abs(analytic - numeric);
        const double tol = opt.atol + opt.rtol * std::abs(numeric);
        // NaN on either side is a failure unless both are NaN at the same place.
        const bool both_nan = std::isnan(analytic) && std::isnan(numeric);
        const bool ok = both_nan || err <= tol;
        const double ratio = both_nan ? 0 : (std::isnan(err) ? INFINITY : err / tol);
        if (!both_nan) {
            report.max_abs_error = std::max(report.max_abs_error, std::isnan(err) ? INFINITY : err);
            if (std::abs(numeric) > opt.atol)
                report.max_rel_error = std::max(report.max_rel_error, err / std::abs(numeric));
        }
        if (!ok) report.passed = false;
        if (entries)
            entries->push_back({input, {}, index, output, analytic, numeric, err, tol, ok});
        if (ratio > worst_ratio) {
            worst_ratio = ratio;
            report.worst_input = input;
            report.worst_index = index;
            report.worst_output = output;
            report.worst_analytic = analytic;
            report.worst_numeric = numeric;
        }
    }
};

// Names output element flat of a function (the flat index in its shape, unless a caller knows
// better: gradgradcheck's outputs are the elements of each input's gradient).
using OutputLabel = std::function<std::string(std::size_t flat, const Shape& shape)>;

std::string plain_label(std::size_t flat, const Shape& shape) {
    return shape_str(unravel(flat, shape));
}

GradcheckReport gradcheck_impl(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                               const GradcheckOptions& opt, std::vector<GradcheckEntry>* entries,
                               const OutputLabel& label = plain_label) {
    if (inputs.empty()) throw ValueError("gradcheck: needs at least one input");
    std::vector<Tensor> xs = float64_copies(inputs);
    const xt::xarray<double> y0 = evaluate(f, xs);
    const std::size_t ny = y0.size();
    const bool project = ny > opt.max_full_outputs;
    const std::size_t rows = project ? static_cast<std::size_t>(opt.projections) : ny;

    // Seeds: one-hot rows of the Jacobian, or random projection vectors.
    std::vector<xt::xarray<double>> seeds;
    Generator gen(opt.seed);
    for (std::size_t r = 0; r < rows; ++r) {
        xt::xarray<double> s = xt::zeros<double>(y0.shape());
        if (project) {
            for (auto& v : s) v = gen.normal();
        } else {
            s.data()[r] = 1.0;
        }
        seeds.push_back(std::move(s));
    }

    // Analytic: one backward pass per seed over one persistent tape.
    std::vector<std::vector<xt::xarray<double>>> analytic(rows);
    {
        Tape tape({.persistent = true});
        Tensor y = f(xs);
        if (y.dtype() != f64) evaluate(f, xs);  // throws the float64 message
        for (std::size_t r = 0; r < rows; ++r) {
            auto grads =
                y.requires_grad() ? tape.gradient(y, xs, Tensor(seeds[r])) : std::vector<Tensor>{};
            for (std::size_t i = 0; i < xs.size(); ++i) {
                analytic[r].push_back(grads.empty()
                                          ? xt::xarray<double>(xt::zeros<double>(xs[i].shape()))
                                          : grads[i].value<double>());
            }
        }
    }

    // Numeric: central differences, one input element at a time.
    Checker check{opt, {}};
    check.entries = entries;
    check.report.projected = project;
    for (std::size_t i = 0; i < xs.size(); ++i) {
        auto& x = xs[i].impl()->value;
        auto& xv = std::get<2>(x);
        for (std::size_t e = 0; e < xv.size(); ++e) {
            const double orig = xv.data()[e];
            xv.data()[e] = orig + opt.eps;
            const auto yp = evaluate(f, xs);
            xv.data()[e] = orig - opt.eps;
            const auto ym = evaluate(f, xs);
            xv.data()[e] = orig;
            const Shape index = unravel(e, xv.shape());
            for (std::size_t r = 0; r < rows; ++r) {
                double numeric = 0;
                for (std::size_t o = 0; o < ny; ++o)
                    numeric += seeds[r].data()[o] * (yp.data()[o] - ym.data()[o]);
                numeric /= 2 * opt.eps;
                const std::string out =
                    project ? "projection " + std::to_string(r) : label(r, y0.shape());
                check.compare(analytic[r][i].data()[e], numeric, i, index, out);
            }
        }
    }
    return check.report;
}

GradcheckReport gradcheck_params_impl(const std::function<Tensor()>& loss,
                                      const std::vector<Tensor>& params,
                                      const GradcheckOptions& opt,
                                      const std::vector<std::string>& names,
                                      std::vector<GradcheckEntry>* entries) {
    if (params.empty()) throw ValueError("gradcheck_params: needs at least one parameter");
    for (std::size_t i = 0; i < params.size(); ++i) {
        const Tensor& p = params[i];
        if (!p.defined() || p.dtype() != f64 || !p.is_leaf() || !p.requires_grad()) {
            throw DtypeError("gradcheck_params: parameter " + std::to_string(i) +
                             (i < names.size() ? " '" + names[i] + "'" : std::string()) +
                             " must be a float64 leaf that requires grad (convert the model "
                             "with .to(f64) first)");
        }
    }
    auto value_of = [&loss] {
        NoGrad no_grad;
        Tensor y = loss();
        if (!y.defined() || y.numel() != 1 || y.dtype() != f64) {
            throw DtypeError("gradcheck_params: the loss must be a one-element float64 tensor");
        }
        return y.item();
    };
    std::vector<xt::xarray<double>> analytic;
    {
        Tape tape;
        Tensor y = loss();
        value_of();  // the same checks, with a clear message
        const auto grads = y.requires_grad() ? tape.gradient(y, params) : std::vector<Tensor>{};
        for (std::size_t i = 0; i < params.size(); ++i) {
            analytic.push_back(grads.empty()
                                   ? xt::xarray<double>(xt::zeros<double>(params[i].shape()))
                                   : grads[i].value<double>());
        }
    }
    Checker check{opt, {}};
    check.entries = entries;
    for (std::size_t i = 0; i < params.size(); ++i) {
        // Written through the variant, not mutable_value(): the probe is not a real change.
        auto& xv = std::get<2>(params[i].impl()->value);
        for (std::size_t e = 0; e < xv.size(); ++e) {
            const double orig = xv.data()[e];
            xv.data()[e] = orig + opt.eps;
            const double yp = value_of();
            xv.data()[e] = orig - opt.eps;
            const double ym = value_of();
            xv.data()[e] = orig;
            const auto before = check.report.worst_input;
            const auto before_ratio = check.worst_ratio;
            check.compare(analytic[i].data()[e], (yp - ym) / (2 * opt.eps), i,
                          unravel(e, xv.shape()), "[]");
            if (check.worst_ratio != before_ratio || check.report.worst_input != before) {
                check.report.worst_input_name = i < names.size() ? names[i] : std::string();
            }
        }
    }
    return check.report;
}

}  // namespace

GradcheckReport gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& opt) {
    return gradcheck_impl(f, inputs, opt, nullptr);
}

GradcheckReport gradcheck_params(const std::function<Tensor()>& loss,
                                 const std::vector<Tensor>& params, const GradcheckOptions& opt,
                                 const std::vector<std::string>& names) {
    return gradcheck_params_impl(loss, params, opt, names, nullptr);
}

namespace {

// The first derivatives of f along v (d(v·f)/dx for every input, flattened and concatenated),
// computed by a tape of its own in a recorded pass, so that an outer tape (gradcheck's) can
// differentiate them again. It records even when called inside NoGrad.
GradcheckFn derivative_of(GradcheckFn f, Tensor v) {
    return [f = std::move(f), v = std::move(v)](const std::vector<Tensor>& xs) {
        EnableGrad enable;
        Tape tape;
        const Tensor y = f(xs);
        std::vector<Tensor> grads;
        if (y.requires_grad()) {
            grads = tape.gradient(y, xs, v, {.create_graph = true});
        } else {
            for (const auto& x : xs) grads.push_back(zeros_like(x));
        }
        std::vector<Tensor> flat;
        for (const auto& g : grads) flat.push_back(reshape(g, {g.numel()}));
        return concat(flat, 0);
    };
}

// The derivative of order `order` along v from a plain (array) pass against the same from a
// recorded pass (next): a failed report naming the worst element when they differ by more than
// the tolerance, nothing when they agree.
std::optional<GradcheckReport> rules_disagree(const GradcheckFn& g, const GradcheckFn& next,
                                              const std::vector<Tensor>& xs, const Tensor& v,
                                              const GradcheckOptions& opt, int order,
                                              const OutputLabel& label) {
    xt::xarray<double> plain;
    {
        Tape tape;
        const Tensor y = g(xs);
        if (!y.requires_grad()) return std::nullopt;
        std::vector<Tensor> flat;
        for (const auto& d : tape.gradient(y, xs, v)) flat.push_back(reshape(d, {d.numel()}));
        NoGrad no_grad;
        plain = concat(flat, 0).value<double>();
    }
    const xt::xarray<double> recorded = evaluate(next, xs);
    Checker check{opt, {}};
    for (std::size_t e = 0; e < plain.size(); ++e) {
        check.compare(recorded.data()[e], plain.data()[e], 0, {},
                      label(e, plain.shape()) + " (order " + std::to_string(order) +
                          ": recorded pass against plain pass)");
    }
    if (check.report.passed) return std::nullopt;
    return check.report;
}

}  // namespace

GradcheckReport gradgradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options, int order) {
    if (order < 2) {
        throw ValueError("gradgradcheck: order must be 2 or more (gradcheck checks order 1), got " +
                         std::to_string(order));
    }
    if (inputs.empty()) throw ValueError("gradgradcheck: needs at least one input");
    // Which element of which input's gradient an output is.
    std::vector<std::size_t> offsets{0};
    for (const auto& t : inputs) offsets.push_back(offsets.back() + t.numel());
    const OutputLabel label = [&](std::size_t flat, const Shape&) {
        std::size_t i = 0;
        while (flat >= offsets[i + 1]) ++i;
        return "d/d(input " + std::to_string(i) + ")" +
               shape_str(unravel(flat - offsets[i], inputs[i].shape()));
    };
    GradcheckFn g = f;
    Generator gen(options.seed + 1);
    for (int k = 1; k < order; ++k) {
        // The direction of each derivative (PyTorch's grad_outputs): random, of f's shape.
        const std::vector<Tensor> xs = float64_copies(inputs);
        Tensor y;
        {
            NoGrad no_grad;
            y = g(xs);
        }
        if (!y.defined() || y.dtype() != f64) evaluate(g, xs);  // throws the float64 message
        const Tensor v = randn(y.shape(), f64, gen);
        GradcheckFn next = derivative_of(g, v);
        // The rules in tensor ops must give what the array rules give: otherwise a wrong
        // backward_graph could agree with its own differences and pass.
        if (auto mismatch = rules_disagree(g, next, xs, v, options, k, label)) return *mismatch;
        g = std::move(next);
    }
    return gradcheck_impl(g, inputs, options, nullptr, label);
}

GradcheckReport gradgradcheck(const std::function<Tensor(const Tensor&)>& f,
                              const std::vector<Tensor>& inputs, const GradcheckOptions& options,
                              int order) {
    return gradgradcheck([&](const std::vector<Tensor>& xs) { return f(xs.at(0)); }, inputs,
                         options, order);
}

GradcheckReport gradgradcheck(const std::function<Tensor(const Tensor&, const Tensor&)>& f,
                              const std::vector<Tensor>& inputs, const GradcheckOptions& options,
                              int order) {
    return gradgradcheck([&](const std::vector<Tensor>& xs) { return f(xs.at(0), xs.at(1)); },
                         inputs, options, order);
}

GradcheckReport gradcheck(const std::function<Tensor(const Tensor&)>& f,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
    if (inputs.size() != 1) {
        throw ValueError("gradcheck: a function of one tensor needs one input, got " +
                         std::to_string(inputs.size()));
    }
    return gradcheck([&](const std::vector<Tensor>& xs) { return f(xs[0]); }, inputs, options);
}

GradcheckReport gradcheck(const std::function<Tensor(const Tensor&, const Tensor&)>& f,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
    if (inputs.size() != 2) {
        throw ValueError("gradcheck: a function of two tensors needs two inputs, got " +
                         std::to_string(inputs.size()));
    }
    return gradcheck([&](const std::vector<Tensor>& xs) { return f(xs[0], xs[1]); }, inputs,
                     options);
}

std::string GradcheckReport::to_string() const {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "gradcheck %s: %zu comparisons%s, max abs error %.3g, max rel error %.3g; "
                  "worst: input %zu%s element %s, output %s: analytic %.10g, numeric %.10g",
                  passed ? "passed" : "FAILED", checked, projected ? " (random projections)" : "",
                  max_abs_error, max_rel_error, worst_input,
                  worst_input_name.empty() ? "" : (" '" + worst_input_name + "'").c_str(),
                  shape_str(worst_index).c_str(), worst_output.c_str(), worst_analytic,
                  worst_numeric);
    return buf;
}

std::ostream& operator<<(std::ostream& os, const GradcheckReport& r) {
    return os << r.to_string();
}

namespace {

// Worst first: the largest error relative to its tolerance (NaN errors count as infinite).
GradcheckTable make_table(GradcheckReport report, std::vector<GradcheckEntry> entries,
                          const std::vector<Tensor>& inputs,
                          const std::vector<std::string>& names) {
    auto ratio = [](const GradcheckEntry& e) {
        if (std::isnan(e.analytic) && std::isnan(e.numeric)) return 0.0;
        return std::isnan(e.abs_error) ? INFINITY : e.abs_error / e.tolerance;
    };
    std::stable_sort(
        entries.begin(), entries.end(),
        [&](const GradcheckEntry& a, const GradcheckEntry& b) { return ratio(a) > ratio(b); });
    for (auto& e : entries) {
        if (e.input < names.size()) {
            e.input_name = names[e.input];
        } else if (e.input < inputs.size() && inputs[e.input].defined()) {
            e.input_name = inputs[e.input].name();
        }
    }
    return {std::move(report), std::move(entries)};
}

std::string number(const char* format, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

}  // namespace

GradcheckTable gradcheck_table(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                               const GradcheckOptions& options,
                               const std::vector<std::string>& names) {
    std::vector<GradcheckEntry> entries;
    auto report = gradcheck_impl(f, inputs, options, &entries);
    return make_table(std::move(report), std::move(entries), inputs, names);
}

GradcheckTable gradcheck_params_table(const std::function<Tensor()>& loss,
                                      const std::vector<Tensor>& params,
                                      const GradcheckOptions& options,
                                      const std::vector<std::string>& names) {
    std::vector<GradcheckEntry> entries;
    auto report = gradcheck_params_impl(loss, params, options, names, &entries);
    return make_table(std::move(report), std::move(entries), params, names);
}

std::string GradcheckTable::to_string(std::size_t max_rows) const {
    std::vector<std::vector<std::string>> rows{
        {"input", "element", "output", "analytic", "numeric", "|error|", "error/tol", ""}};
    const bool outputs = std::any_of(entries.begin(), entries.end(),
                                     [](const GradcheckEntry& e) { return e.output != "[]"; });
    for (std::size_t k = 0; k < std::min(max_rows, entries.size()); ++k) {
        const auto& e = entries[k];
        rows.push_back({e.input_name.empty() ? std::to_string(e.input) : e.input_name,
                        shape_str(e.index), e.output, number("%.10g", e.analytic),
                        number("%.10g", e.numeric), number("%.2e", e.abs_error),
                        number("%.2e", e.abs_error / e.tolerance), e.passed ? "ok" : "FAIL"});
    }
    std::vector<std::size_t> width(rows[0].size(), 0);
    for (const auto& r : rows)
        for (std::size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
    std::string s = report.to_string() + "\n";
    s += "tolerance per element: atol + rtol·|numeric|; worst " + std::to_string(rows.size() - 1) +
         " of " + std::to_string(entries.size()) + ":\n";
    for (const auto& r : rows) {
        std::string line;
        for (std::size_t c = 0; c < r.size(); ++c) {
            if (c == 2 && !outputs) continue;  // one output: the column says nothing
            // Names left-aligned, numbers right-aligned.
            const std::string pad(width[c] - r[c].size(), ' ');
            line += "  " + (c < 3 || c == 7 ? r[c] + pad : pad + r[c]);
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        s += line + "\n";
    }
    return s;
}

std::ostream& operator<<(std::ostream& os, const GradcheckTable& t) {
    return os << t.to_string();
}

}  // namespace tapegrad
