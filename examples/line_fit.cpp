// The "finding the best line" example of seed text 004 (the blindfolded hiker): fit
// y ≈ w x + b to five points of y = 2x + 1 by full-batch gradient descent, w = b = 0, lr = 0.01,
// 100 epochs, printing every 20th epoch exactly as the text's code does (w and b after the
// epoch's update, the loss from before it). The gradients come from the tape, not from the
// text's hand-written dw, db. The text's printed table does not match its own code: we print
// what the code computes, beside what the text shows. Writes line_fit_loss.svg and
// line_fit_params.svg.
#include <cmath>
#include <cstdio>
#include <tapegrad/autodiff/autodiff.hpp>
#include <tapegrad/charts/plot.hpp>
#include <vector>

namespace tg = tapegrad;

namespace {

// The table printed under the text's code, copied from seed text 004.
struct TextRow {
    int epoch;
    double w, b, loss;
};
constexpr TextRow kTextTable[] = {{0, 0.140, 0.040, 65.0000},
                                  {20, 1.727, 0.543, 0.4274},
                                  {40, 1.926, 0.795, 0.0656},
                                  {60, 1.970, 0.899, 0.0149},
                                  {80, 1.987, 0.949, 0.0039}};
constexpr double kTextLearnedW = 1.99, kTextLearnedB = 0.97;

struct Row {
    int epoch;
    double w, b, loss;
};

}  // namespace

int main() {
    const tg::Tensor X = tg::tensor({1.0, 2.0, 3.0, 4.0, 5.0}, tg::f64);
    const tg::Tensor y = tg::tensor({3.0, 5.0, 7.0, 9.0, 11.0}, tg::f64);
    tg::Tensor w = tg::scalar(0.0, tg::f64).requires_grad_().name("w");
    tg::Tensor b = tg::scalar(0.0, tg::f64).requires_grad_().name("b");
    const double lr = 0.01;
    const int text_epochs = 100, more_epochs = 3000;

    std::printf(
        "Fit y = w x + b to X = [1 2 3 4 5], y = [3 5 7 9 11] (y = 2x + 1 exactly), "
        "starting at w = b = 0, lr = %.2f,\nloss = mean((y - y_pred)^2), gradients from "
        "the tape; the text's loop and print (after the update, loss from before it):\n",
        lr);
    std::vector<Row> ours;
    std::vector<double> epochs, losses, ws, bs;  // bs, ws: after each epoch's update
    int rounds_to_target = -1;  // first epoch after which the line prints as y = 2.00x + 1.00
    for (int epoch = 0; epoch < more_epochs; ++epoch) {
        double loss_value;
        {
            tg::Tape tape;
            const tg::Tensor y_pred = w * X + b;
            const tg::Tensor loss = tg::mean(tg::square(y - y_pred));
            tape.backward(loss);  // dL/dw = -2 mean(x (y - y_pred)), dL/db = -2 mean(y - y_pred)
            loss_value = loss.item();
        }
        w -= lr * w.grad();
        b -= lr * b.grad();
        w.zero_grad();
        b.zero_grad();
        epochs.push_back(epoch);
        losses.push_back(loss_value);
        ws.push_back(w.item());
        bs.push_back(b.item());
        if (epoch < text_epochs && epoch % 20 == 0) {
            std::printf("Epoch %3d: w=%.3f, b=%.3f, loss=%.4f\n", epoch, w.item(), b.item(),
                        loss_value);
            ours.push_back({epoch, w.item(), b.item(), loss_value});
        }
        if (epoch == text_epochs - 1) {
            std::printf("\nLearned: y = %.2fx + %.2f (target: y = 2x + 1)\n", w.item(), b.item());
            ours.push_back({text_epochs, w.item(), b.item(), loss_value});
        }
        if (rounds_to_target < 0 && std::abs(w.item() - 2) < 0.005 &&
            std::abs(b.item() - 1) < 0.005)
            rounds_to_target = epoch;
    }

    std::printf(
        "\nThe text's printed output does not match its own code; this is what the code "
        "computes:\n");
    std::printf("  epoch  text prints                         the code gives\n");
    for (std::size_t i = 0; i < std::size(kTextTable); ++i) {
        const TextRow& t = kTextTable[i];
        std::printf("  %5d  w=%.3f, b=%.3f, loss=%8.4f    w=%.3f, b=%.3f, loss=%8.4f\n", t.epoch,
                    t.w, t.b, t.loss, ours[i].w, ours[i].b, ours[i].loss);
    }
    std::printf("  Learned: the text prints y = %.2fx + %.2f, the code gives y = %.2fx + %.2f\n",
                kTextLearnedW, kTextLearnedB, ours.back().w, ours.back().b);
    std::printf(
        "For example at epoch 0 the loss of w = b = 0 is mean(y^2) = "
        "(9 + 25 + 49 + 81 + 121) / 5 = 57, not 65,\nand the first step moves w by "
        "lr * 2 mean(x y) = 0.01 * 2 * 25 = 0.5 (not 0.14) and b by 0.01 * 2 * mean(y) = "
        "0.14.\n");

    // Least squares in closed form: w = cov(x, y) / var(x), b = mean(y) - w mean(x).
    const auto& xv = X.value<double>();
    const auto& yv = y.value<double>();
    double mx = 0, my = 0;
    for (std::size_t i = 0; i < xv.size(); ++i) {
        mx += xv(i) / 5.0;
        my += yv(i) / 5.0;
    }
    double sxy = 0, sxx = 0, sse = 0;
    for (std::size_t i = 0; i < xv.size(); ++i) {
        sxy += (xv(i) - mx) * (yv(i) - my);
        sxx += (xv(i) - mx) * (xv(i) - mx);
    }
    const double w_ls = sxy / sxx, b_ls = my - w_ls * mx;
    for (std::size_t i = 0; i < xv.size(); ++i) {
        sse += std::pow(yv(i) - (w_ls * xv(i) + b_ls), 2);
    }
    std::printf(
        "\nClosed-form least squares: w = cov(x, y) / var(x), b = mean(y) - w mean(x):\n"
        "least squares: y = %.3fx + %.3f, loss = %.4f\n",
        w_ls, b_ls, sse / 5.0);

    // The Hessian of the loss is H = 2 [[mean x², mean x], [mean x, 1]]; its eigenvalues are
    // the curvatures along the valley's two axes, and a step shrinks the error along an axis
    // of curvature λ by the factor 1 - lr λ.
    double mxx = 0;
    for (double v : xv) mxx += v * v / 5.0;
    const double h11 = 2 * mxx, h12 = 2 * mx, h22 = 2;
    const double mid = (h11 + h22) / 2, rad = std::sqrt(std::pow((h11 - h22) / 2, 2) + h12 * h12);
    const double l_max = mid + rad, l_min = mid - rad;
    std::printf(
        "\nWhy gradient descent is not there after %d epochs: the loss is a valley with "
        "curvatures %.2f and %.3f\n(the eigenvalues of its Hessian "
        "[[%.0f, %.0f], [%.0f, %.0f]]): along the flat one each epoch removes only\n"
        "lr * %.3f = %.2f%% of the remaining error. The same loop, run on:\n",
        text_epochs, l_max, l_min, h11, h12, h12, h22, l_min, 100 * lr * l_min);
    for (int e : {499, 999, 1999, more_epochs - 1}) {
        std::printf("  Epoch %4d: w=%.4f, b=%.4f, loss=%.2e\n", e, ws[e], bs[e], losses[e]);
    }
    if (rounds_to_target >= 0) {
        std::printf("the learned line first prints as y = 2.00x + 1.00 after epoch %d\n",
                    rounds_to_target);
    }

    tg::charts::LinePlot plot("Line fit (text 004): the loss falls fast, then crawls", "epoch",
                              "loss = mean((y − y_pred)²), log scale");
    plot.add("", epochs, losses).log_y();
    plot.mark_x(text_epochs, "the text stops after 100 epochs");
    plot.save("line_fit_loss.svg");

    // w and b against the number of epochs done (log scale, so that the first twenty epochs,
    // where w overshoots, are as visible as the long crawl of b).
    std::vector<double> done;
    for (double e : epochs) done.push_back(e + 1);
    char title[96];
    std::snprintf(title, sizeof title,
                  "Line fit: w overshoots within 20 epochs; b reaches 1.00 after %d",
                  rounds_to_target + 1);
    tg::charts::LinePlot params(title, "epochs done (log scale)", "value after the update");
    params.add("w (target 2)", done, ws).add("b (target 1)", done, bs).log_x();
    params.mark_x(text_epochs, "the text stops here");
    params.save("line_fit_params.svg");
    std::printf("\nwrote line_fit_loss.svg, line_fit_params.svg\n");
}
