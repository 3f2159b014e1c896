// The logistic-regression walkthrough of seed text 001, line by line in tapegrad (float64):
// the 400-row make_classification set, standardised (population std, as scikit-learn's
// StandardScaler), a bias column of ones, w = 0, full-batch gradient descent with η = 0.2 for
// 800 steps on loss = -mean(y log(p + 1e-9) + (1 - y) log(1 - p + 1e-9)), p = sigmoid(X w).
// As in the text's code, the loss is printed after the update of every step with
// step % 100 == 0, and the weights at the end rounded to 3 decimals in NumPy's print format.
// Then precision and recall at the threshold 0.5. Writes logistic_regression_loss.svg and
// logistic_regression_boundary.svg.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <tapegrad/autodiff/autodiff.hpp>
#include <tapegrad/charts/plot.hpp>
#include <tapegrad/data/data.hpp>
#include <tapegrad/nn/nn.hpp>
#include <vector>

namespace tg = tapegrad;

namespace {

// NumPy's print of a float array (print(w.round(3)) with the default options): each value in
// its shortest form with up to 3 decimals (trailing zeros dropped, the point kept: "3.37",
// "1."), then padded to a common width, integer parts (with their sign) right-aligned and
// fractions left-aligned, separated by one space: "[ 0.492 -0.937  3.37 ]", "[0.5 1. ]".
// (NumPy's fixed-point form: it switches to scientific notation when the non-zero values span
// more than a factor 1000 or go below 1e-4, which these weights do not.)
std::string numpy_round3(const std::vector<double>& values) {
    std::vector<std::string> ints, fracs;
    std::size_t int_w = 0, frac_w = 0;
    for (double v : values) {
        const double r = std::nearbyint(v * 1000) / 1000;  // np.round: rint(v * 10^3) / 10^3
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.3f", r);
        std::string s = buf;
        while (s.back() == '0') s.pop_back();
        const std::size_t dot = s.find('.');
        ints.push_back(s.substr(0, dot));
        fracs.push_back(s.substr(dot));  // ".37", "."
        int_w = std::max(int_w, ints.back().size());
        frac_w = std::max(frac_w, fracs.back().size());
    }
    std::string out = "[";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i > 0) out += ' ';
        out += std::string(int_w - ints[i].size(), ' ') + ints[i] + fracs[i] +
               std::string(frac_w - fracs[i].size(), ' ');
    }
    return out + "]";
}

}  // namespace

int main() {
    const std::string path = std::string(TAPEGRAD_EXAMPLES_DATA) + "/make_classification_400.csv";
    const auto csv = tg::data::read_csv(path, "y", {.dtype = tg::f64});
    const std::size_t n = csv.data.size();

    // 1) Toy data: standardise, then the bias column of ones (np.c_[np.ones(len(X)), X]).
    tg::data::StandardScaler scaler;
    const tg::Tensor features = scaler.fit_transform(csv.data.x);
    const tg::Tensor X = tg::concat({tg::ones({n, 1}, tg::f64), features}, 1);
    const tg::Tensor& y = csv.data.y;

    // 2) Model: w = 0; p = sigmoid(X @ w); the text's loss with its eps = 1e-9.
    tg::Tensor w = tg::zeros({3}, tg::f64).requires_grad_().name("w");
    const auto loss_of = [&](const tg::Tensor& weights) {
        const tg::Tensor p = tg::sigmoid(tg::matmul(X, weights));
        const double eps = 1e-9;
        return -tg::mean(y * tg::log(p + eps) + (1.0 - y) * tg::log(1.0 - p + eps));
    };

    std::printf(
        "Logistic regression (text 001): %s, %zu rows, features %s, %s standardised "
        "(population std) plus a bias column;\nw = 0, eta = 0.2, 800 full-batch steps, "
        "gradients from the tape in float64.\n",
        "make_classification_400.csv", n, csv.feature_names[0].c_str(),
        csv.feature_names[1].c_str());

    // 3) Train. The text's loop: w -= eta * grad(w); then, when step % 100 == 0, it prints
    // loss(w), i.e. the loss after that step's update.
    const double eta = 0.2;
    std::vector<double> steps, losses;
    double worst_gap = 0;  // largest |tape gradient - X^T (p - y) / n| seen
    for (int step = 0; step < 800; ++step) {
        {
            tg::Tape tape;
            const tg::Tensor loss = loss_of(w);
            tape.backward(loss);
            steps.push_back(step);
            losses.push_back(loss.item());  // before this step's update: for the curve
        }
        {
            // The text's hand-derived gradient X^T (p - y) / n, for comparison: the tape
            // differentiates the loss with its eps, which changes the gradient by O(1e-9).
            tg::NoGrad no_grad;
            const tg::Tensor p = tg::sigmoid(tg::matmul(X, w));
            const tg::Tensor by_hand = tg::matmul(tg::transpose(X), p - y) / static_cast<double>(n);
            const auto gap = xt::amax(xt::abs(w.grad().value<double>() - by_hand.value<double>()));
            worst_gap = std::max(worst_gap, gap());
        }
        w -= eta * w.grad();
        w.zero_grad();
        if (step % 100 == 0) {
            tg::NoGrad no_grad;
            std::printf("step %4d loss=%.4f\n", step, loss_of(w).item());
        }
    }
    const auto& wv = w.value<double>();
    std::printf("weights: %s\n", numpy_round3({wv(0), wv(1), wv(2)}).c_str());
    std::printf("(NumPy's print of w.round(3); unrounded: [%.6f, %.6f, %.6f] for bias, %s, %s)\n",
                wv(0), wv(1), wv(2), csv.feature_names[0].c_str(), csv.feature_names[1].c_str());
    std::printf(
        "the tape's gradient matched the text's X.T @ (p - y) / len(y) to %.1e in every "
        "step (the eps in the loss makes the difference)\n",
        worst_gap);

    // Thresholding at 0.5.
    tg::Tensor p;
    {
        tg::NoGrad no_grad;
        p = tg::sigmoid(tg::matmul(X, w));
    }
    const auto cm = tg::nn::metrics::confusion_matrix(p, y, 2, 0.5);
    std::printf(
        "\nPredicted class 1 when p > 0.5:\n"
        "  true negatives %zu, false positives %zu, false negatives %zu, true positives "
        "%zu\n",
        cm[0][0], cm[0][1], cm[1][0], cm[1][1]);
    std::printf("precision = TP / (TP + FP) = %.4f\n", tg::nn::metrics::precision(p, y, 0.5));
    std::printf("recall    = TP / (TP + FN) = %.4f\n", tg::nn::metrics::recall(p, y, 0.5));
    std::printf("accuracy  = %.4f\n", tg::nn::metrics::accuracy(p, y, 0.5));

    // ---- pictures --------------------------------------------------------------------
    tg::charts::LinePlot loss_plot("Logistic regression (text 001): loss per step, η = 0.2", "step",
                                   "cross-entropy loss before the step");
    loss_plot.add("", steps, losses).save("logistic_regression_loss.svg");

    // The two classes in standardised coordinates and the line where p = 0.5:
    // w0 + w1 x1 + w2 x2 = 0, i.e. x2 = -(w0 + w1 x1) / w2.
    std::vector<double> x1[2], x2[2];
    const auto& f = features.value<double>();
    const auto& yv = y.value<double>();
    double lo = f(0, 0), hi = f(0, 0);
    for (std::size_t i = 0; i < n; ++i) {
        const int c = yv(i) > 0.5 ? 1 : 0;
        x1[c].push_back(f(i, 0));
        x2[c].push_back(f(i, 1));
        lo = std::min(lo, f(i, 0));
        hi = std::max(hi, f(i, 0));
    }
    tg::charts::LinePlot scatter("The 400 points and the learned boundary p = 0.5",
                                 "x1 (standardised)", "x2 (standardised)");
    scatter.add("class 0", x1[0], x2[0]).markers(false);
    scatter.add("class 1", x1[1], x2[1]).markers(false);
    scatter.add("p = 0.5", {lo, hi},
                {-(wv(0) + wv(1) * lo) / wv(2), -(wv(0) + wv(1) * hi) / wv(2)});
    scatter.save("logistic_regression_boundary.svg", 720, 520);
    std::printf("\nwrote logistic_regression_loss.svg, logistic_regression_boundary.svg\n");
}
