#pragma once
// Gradient checks: the tape's gradient against central differences, in float64, element by
// element, with a report that names the worst element.
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tapegrad {

struct GradcheckOptions {
    double eps = 1e-6;   // step of the central difference (PyTorch's default)
    double atol = 1e-5;  // pass when |analytic - numeric| <= atol + rtol·|numeric|
    double rtol = 1e-3;
    // Outputs with more elements than this are checked through random projections
    // (d(v·f)/dx for random v) instead of the full Jacobian, row by row.
    std::size_t max_full_outputs = 64;
    int projections = 2;
    std::uint64_t seed = 0;  // of the projection vectors
};

struct GradcheckReport {
    bool passed = true;
    std::size_t checked = 0;   // (output, input element) pairs compared
    double max_abs_error = 0;  // max |analytic - numeric|
    double max_rel_error = 0;  // max |analytic - numeric| / |numeric| where |numeric| > atol
    // The worst pair: the one furthest beyond its tolerance (largest error / tolerance).
    std::size_t worst_input = 0;
    std::string worst_input_name;  // the parameter's name, when checking named parameters
    Shape worst_index;             // element of that input
    std::string worst_output;      // "[2, 1]" of the output, or "projection 0"
    double worst_analytic = 0;
    double worst_numeric = 0;
    bool projected = false;
    std::string to_string() const;
    explicit operator bool() const { return passed; }
};
std::ostream& operator<<(std::ostream& os, const GradcheckReport& r);

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

// Checks d f(inputs) / d inputs. The inputs are copied to float64 leaves; the caller's
// tensors are not changed. f must compute in float64 from what it is given.
GradcheckReport gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});
GradcheckReport gradcheck(const std::function<Tensor(const Tensor&)>& f,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});
GradcheckReport gradcheck(const std::function<Tensor(const Tensor&, const Tensor&)>& f,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

// Checks second (or, with order 3, third...) derivatives: the tape's derivative of f's gradient,
// differentiated again through a recorded pass, against central differences of that gradient.
// The gradient is taken along a random direction v of f's shape (d(v·f)/dx, PyTorch's
// grad_outputs), and each further order along another. The report's outputs name which
// element of which input's gradient was differentiated ("d/d(input 0)[1]").
GradcheckReport gradgradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options = {}, int order = 2);
GradcheckReport gradgradcheck(const std::function<Tensor(const Tensor&)>& f,
                              const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options = {}, int order = 2);
GradcheckReport gradgradcheck(const std::function<Tensor(const Tensor&, const Tensor&)>& f,
                              const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options = {}, int order = 2);

// Checks d loss() / d params for a scalar loss of existing float64 leaves (a model's
// parameters: convert the model with .to(f64) first). Each element is moved by ±eps in place
// and put back exactly; names, when given, label the worst element in the report.
GradcheckReport gradcheck_params(const std::function<Tensor()>& loss,
                                 const std::vector<Tensor>& params,
                                 const GradcheckOptions& options = {},
                                 const std::vector<std::string>& names = {});

// ---- the same checks as a table a person can read ----

// One comparison: an element of an input (and, for a function with several outputs, one
// output element or projection) with its analytic and numeric derivative.
struct GradcheckEntry {
    std::size_t input = 0;
    std::string input_name;  // the name given, else the tensor's own name, else empty
    Shape index;
    std::string output;  // "[]" for a scalar function
    double analytic = 0;
    double numeric = 0;
    double abs_error = 0;  // |analytic - numeric|
    double tolerance = 0;  // atol + rtol·|numeric|
    bool passed = true;
};

// A report with every comparison behind it, worst first (largest error / tolerance).
struct GradcheckTable {
    GradcheckReport report;
    std::vector<GradcheckEntry> entries;
    // The worst max_rows rows as a table, after a summary line.
    std::string to_string(std::size_t max_rows = 20) const;
};
std::ostream& operator<<(std::ostream& os, const GradcheckTable& t);

// gradcheck and gradcheck_params, keeping every comparison. names label the inputs.
GradcheckTable gradcheck_table(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                               const GradcheckOptions& options = {},
                               const std::vector<std::string>& names = {});
GradcheckTable gradcheck_params_table(const std::function<Tensor()>& loss,
                                      const std::vector<Tensor>& params,
                                      const GradcheckOptions& options = {},
                                      const std::vector<std::string>& names = {});

}  // namespace tapegrad
