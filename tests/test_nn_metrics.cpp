// Metrics (tapegrad/nn/metrics.hpp) against values worked out by hand in the comments, with
// scikit-learn's definitions: binary counts, a 3-class confusion matrix, zero_division=0,
// regression numbers (scikit-learn's documented examples), both dtypes, every accepted input
// shape, and the errors.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <tapegrad/autodiff/autodiff.hpp>
#include <tapegrad/nn/metrics.hpp>
#include <vector>
#include <xtensor/xadapt.hpp>

namespace tg = tapegrad;
namespace m = tapegrad::nn::metrics;
using Matrix = std::vector<std::vector<std::size_t>>;

namespace {

// Ten examples of a binary task, probabilities and targets:
//   p      0.9  0.8  0.3  0.6  0.2  0.2  0.1  0.4  0.45 0.5
//   target 1    1    1    0    0    0    0    1    0    1
//   p>0.5  1    1    0    1    0    0    0    0    0    0      (0.5 is not above 0.5)
// TP = 2 (rows 0, 1), FP = 1 (row 3), FN = 3 (rows 2, 7, 9), TN = 4 (rows 4, 5, 6, 8).
//   accuracy  = (TP + TN) / 10 = 6/10 = 0.6
//   precision = TP / (TP + FP) = 2/3
//   recall    = TP / (TP + FN) = 2/5 = 0.4
//   f1        = 2 TP / (2 TP + FP + FN) = 4/8 = 0.5   (= 2 (2/3)(0.4) / (2/3 + 0.4))
//   confusion = [[TN, FP], [FN, TP]] = [[4, 1], [3, 2]]
constexpr double kProb[10] = {0.9, 0.8, 0.3, 0.6, 0.2, 0.2, 0.1, 0.4, 0.45, 0.5};
constexpr double kBinaryTarget[10] = {1, 1, 1, 0, 0, 0, 0, 1, 0, 1};

tg::Tensor column(const tg::Tensor& t) {
    return tg::reshape(t, {t.numel(), 1});
}

void check_binary(const tg::Tensor& scores, const tg::Tensor& target, double threshold) {
    CHECK(m::accuracy(scores, target, threshold) == Approx(0.6));
    CHECK(m::precision(scores, target, threshold) == Approx(2.0 / 3.0));
    CHECK(m::recall(scores, target, threshold) == Approx(0.4));
    CHECK(m::f1_score(scores, target, threshold) == Approx(0.5));
    CHECK(m::confusion_matrix(scores, target, 2, threshold) == Matrix{{4, 1}, {3, 2}});
}

}  // namespace

TEST_CASE("metrics: binary counts from probabilities, logits and two-column scores") {
    for (tg::Dtype dt : {tg::f32, tg::f64}) {
        INFO("dtype " << (dt == tg::f32 ? "f32" : "f64"));
        const tg::Tensor p = tg::tensor(kProb, dt);
        const tg::Tensor y = tg::tensor(kBinaryTarget, dt);
        SECTION("probabilities [N], threshold 0.5") {
            check_binary(p, y, 0.5);
        }
        SECTION("probabilities [N, 1], target [N, 1]") {
            check_binary(column(p), column(y), 0.5);
            check_binary(column(p), y, 0.5);
        }
        SECTION("logits (p - 0.5), threshold 0") {
            // p - 0.5 > 0 exactly when p > 0.5; row 9 is exactly 0, not above.
            check_binary(tg::sub(p, tg::scalar(0.5, dt)), y, 0.0);
        }
        SECTION("rows [1 - p, p]: argmax, the tie of row 9 going to class 0") {
            std::vector<double> rows;
            for (double v : kProb) {
                rows.push_back(1 - v);
                rows.push_back(v);
            }
            xt::xarray<double> a = xt::adapt(rows, std::vector<std::size_t>{10, 2});
            tg::Tensor s = tg::from_array(a).to(dt);
            check_binary(s, y, 0.5);
            CHECK(m::predict_classes(s) == std::vector<std::size_t>{1, 1, 0, 1, 0, 0, 0, 0, 0, 0});
        }
        SECTION("class indices") {
            const std::vector<std::size_t> pred = {1, 1, 0, 1, 0, 0, 0, 0, 0, 0};
            CHECK(m::predict_classes(p) == pred);
            CHECK(m::accuracy(pred, y) == Approx(0.6));
            CHECK(m::precision(pred, y) == Approx(2.0 / 3.0));
            CHECK(m::recall(pred, y) == Approx(0.4));
            CHECK(m::f1_score(pred, y) == Approx(0.5));
            CHECK(m::confusion_matrix(pred, y, 2) == Matrix{{4, 1}, {3, 2}});
            // 0/1 indices as a tensor pass through the threshold unchanged.
            const tg::Tensor as_tensor = tg::tensor({1, 1, 0, 1, 0, 0, 0, 0, 0, 0}, dt);
            check_binary(as_tensor, y, 0.5);
            check_binary(as_tensor, y, 0.0);
        }
    }
}

TEST_CASE("metrics: the threshold moves the binary counts") {
    const tg::Tensor p = tg::tensor(kProb, tg::f64);
    const tg::Tensor y = tg::tensor(kBinaryTarget, tg::f64);
    // p > 0.25: predictions 1 1 1 1 0 0 0 1 1 1 -> TP = 5 (rows 0, 1, 2, 7, 9), FP = 2 (3, 8),
    // FN = 0, TN = 3: precision 5/7, recall 1, f1 = 10 / (10 + 2 + 0) = 5/6, accuracy 8/10.
    CHECK(m::precision(p, y, 0.25) == Approx(5.0 / 7.0));
    CHECK(m::recall(p, y, 0.25) == Approx(1.0));
    CHECK(m::f1_score(p, y, 0.25) == Approx(5.0 / 6.0));
    CHECK(m::accuracy(p, y, 0.25) == Approx(0.8));
}

TEST_CASE("metrics: zero_division gives 0") {
    const tg::Tensor y = tg::tensor({1, 0, 1, 0}, tg::f64);
    const tg::Tensor none = tg::tensor({0.1, 0.2, 0.3, 0.4}, tg::f64);  // no predicted positives
    CHECK(m::precision(none, y) == 0.0);                                // TP + FP = 0
    CHECK(m::recall(none, y) == 0.0);                                   // TP = 0, TP + FN = 2
    CHECK(m::f1_score(none, y) == 0.0);
    const tg::Tensor negatives = tg::zeros({4}, tg::f64);  // no actual positives
    const tg::Tensor all = tg::tensor({0.9, 0.8, 0.7, 0.6}, tg::f64);
    CHECK(m::recall(all, negatives) == 0.0);  // TP + FN = 0
    CHECK(m::precision(all, negatives) == 0.0);
    CHECK(m::f1_score(all, negatives) == 0.0);
    // Nothing predicted and nothing to find: every denominator 0, still 0 (scikit-learn too).
    CHECK(m::f1_score(none, negatives) == 0.0);
    CHECK(m::accuracy(none, negatives) == 1.0);
}

TEST_CASE("metrics: three classes, argmax with ties to the lowest index") {
    // row  scores            argmax  target
    //  0   2.0  1.0  0.1     0       0
    //  1   0.1  3.0  0.2     1       1
    //  2   0.5  0.5  0.1     0 (tie) 1
    //  3   0.0  0.0  1.0     2       2
    //  4   1.0  0.0  0.0     0       2
    //  5   0.2  0.1  0.9     2       2
    //  6   0.3  0.6  0.1     1       0
    // confusion (row = true): true 0 -> pred 0 (row 0), 1 (row 6)      = [1, 1, 0]
    //                         true 1 -> pred 0 (row 2), 1 (row 1)      = [1, 1, 0]
    //                         true 2 -> pred 0 (row 4), 2 (rows 3, 5)  = [1, 0, 2]
    // accuracy = trace / N = (1 + 1 + 2) / 7 = 4/7
    const Matrix expected = {{1, 1, 0}, {1, 1, 0}, {1, 0, 2}};
    for (tg::Dtype dt : {tg::f32, tg::f64}) {
        const tg::Tensor s = tg::tensor({{2.0, 1.0, 0.1},
                                         {0.1, 3.0, 0.2},
                                         {0.5, 0.5, 0.1},
                                         {0.0, 0.0, 1.0},
                                         {1.0, 0.0, 0.0},
                                         {0.2, 0.1, 0.9},
                                         {0.3, 0.6, 0.1}},
                                        dt);
        const tg::Tensor y = tg::tensor({0, 1, 1, 2, 2, 2, 0}, dt);
        CHECK(m::predict_classes(s) == std::vector<std::size_t>{0, 1, 0, 2, 0, 2, 1});
        CHECK(m::confusion_matrix(s, y, 3) == expected);
        CHECK(m::confusion_matrix(s, column(y), 3) == expected);
        CHECK(m::accuracy(s, y) == Approx(4.0 / 7.0));
        CHECK(m::accuracy(s, y, 123.0) == Approx(4.0 / 7.0));  // no threshold for rows
        CHECK(m::confusion_matrix(m::predict_classes(s), y, 3) == expected);
        CHECK(m::accuracy(m::predict_classes(s), y) == Approx(4.0 / 7.0));
    }
}

TEST_CASE("metrics: NaN scores never win and never pass the threshold") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const tg::Tensor rows =
        tg::tensor({{nan, 0.1, 0.2}, {0.3, nan, -1.0}, {nan, nan, nan}}, tg::f64);
    CHECK(m::predict_classes(rows) == std::vector<std::size_t>{2, 0, 0});
    const double col[3] = {nan, 0.7, -0.2};
    CHECK(m::predict_classes(tg::tensor(col, tg::f64), 0.0) == std::vector<std::size_t>{0, 1, 0});
}

TEST_CASE("metrics: confusion matrix with classes that never occur, and no examples") {
    // Predictions 0 3 3 1 for targets 3 3 0 1 in 5 classes: (3,0), (3,3), (0,3), (1,1).
    const Matrix cm = m::confusion_matrix({0, 3, 3, 1}, tg::tensor({3, 3, 0, 1}, tg::f64), 5);
    Matrix expected(5, std::vector<std::size_t>(5, 0));
    expected[3][0] = 1;
    expected[3][3] = 1;
    expected[0][3] = 1;
    expected[1][1] = 1;
    CHECK(cm == expected);
    CHECK(m::confusion_matrix(tg::zeros({0, 3}, tg::f64), tg::zeros({0}, tg::f64), 3) ==
          Matrix(3, std::vector<std::size_t>(3, 0)));
}

TEST_CASE("metrics: regression, scikit-learn's documented examples") {
    for (tg::Dtype dt : {tg::f32, tg::f64}) {
        // y = [3, -0.5, 2, 7], y_hat = [2.5, 0, 2, 8]; errors 0.5, -0.5, 0, -1.
        //   mse = (0.25 + 0.25 + 0 + 1) / 4 = 0.375, mae = (0.5 + 0.5 + 0 + 1) / 4 = 0.5
        //   mean y = 11.5 / 4 = 2.875; SS_tot = 0.125^2 + 3.375^2 + 0.875^2 + 4.125^2 = 29.1875
        //   SS_res = 1.5; r2 = 1 - 1.5 / 29.1875 = 0.94860...
        const tg::Tensor y = tg::tensor({3, -0.5, 2, 7}, dt);
        const tg::Tensor y_hat = tg::tensor({2.5, 0.0, 2, 8}, dt);
        const double r2 = 1 - 1.5 / 29.1875;
        CHECK(m::mse(y_hat, y) == Approx(0.375));
        CHECK(m::mae(y_hat, y) == Approx(0.5));
        CHECK(m::r2_score(y_hat, y) == Approx(r2));
        CHECK(m::r2_score(column(y_hat), y) == Approx(r2));  // [N, 1] against [N]
        CHECK(m::mse(column(y_hat), column(y)) == Approx(0.375));
        CHECK(m::r2_score(y, y) == 1.0);

        // Two outputs: y = [[0.5, 1], [-1, 1], [7, -6]], y_hat = [[0, 2], [-1, 2], [8, -5]].
        //   errors 0.5, -1, 0, -1, -1, -1: mse = 4.25 / 6, mae = 4.5 / 6 (over all elements)
        //   column 0: y = 0.5, -1, 7, mean 6.5/3; 9 SS_tot = 5^2 + 9.5^2 + 14.5^2 = 325.5,
        //             SS_res = 0.25 + 0 + 1 = 1.25 -> r2 = 1 - 11.25 / 325.5
        //   column 1: y = 1, 1, -6, mean -4/3; 9 SS_tot = 7^2 + 7^2 + 14^2 = 294,
        //             SS_res = 1 + 1 + 1 = 3 -> r2 = 1 - 27 / 294
        //   r2 = mean of the two = 0.93680... (scikit-learn's docs: 0.936)
        const tg::Tensor y2 = tg::tensor({{0.5, 1}, {-1, 1}, {7, -6}}, dt);
        const tg::Tensor y2_hat = tg::tensor({{0, 2}, {-1, 2}, {8, -5}}, dt);
        CHECK(m::mse(y2_hat, y2) == Approx(4.25 / 6));
        CHECK(m::mae(y2_hat, y2) == Approx(4.5 / 6));
        CHECK(m::r2_score(y2_hat, y2) == Approx((2 - 11.25 / 325.5 - 27.0 / 294) / 2));
    }
}

TEST_CASE("metrics: r2 of a constant target follows scikit-learn (1 if exact, else 0)") {
    const tg::Tensor y = tg::tensor({2, 2, 2}, tg::f64);
    CHECK(m::r2_score(tg::tensor({2, 2, 2}, tg::f64), y) == 1.0);
    CHECK(m::r2_score(tg::tensor({2, 2, 3}, tg::f64), y) == 0.0);
    // 0.1 + 0.1 + 0.1 = 0.30000000000000004: a mean that is off by an ulp must not turn
    // SS_tot into 1e-33 and the score into -1e30.
    const tg::Tensor tenth = tg::tensor({0.1, 0.1, 0.1}, tg::f64);
    CHECK(m::r2_score(tenth, tenth) == 1.0);
    CHECK(m::r2_score(tg::tensor({0.1, 0.1, 0.2}, tg::f64), tenth) == 0.0);
    // Per column: constant column 0 (predicted exactly: 1), column 1 as above (0.5 vs 1, 0, -1
    // -> mean 0, SS_tot = 2, SS_res = 0.25 + 0 + 0 = 0.25 -> 0.875); the mean is 0.9375.
    const tg::Tensor y2 = tg::tensor({{4, 1}, {4, 0}, {4, -1}}, tg::f64);
    const tg::Tensor y2_hat = tg::tensor({{4, 0.5}, {4, 0}, {4, -1}}, tg::f64);
    CHECK(m::r2_score(y2_hat, y2) == Approx(0.9375));
}

TEST_CASE("metrics: non-finite regression values give a non-finite result") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double p[3] = {1, nan, 3};
    const tg::Tensor y = tg::tensor({1, 2, 3}, tg::f64);
    CHECK(std::isnan(m::mse(tg::tensor(p, tg::f64), y)));
    CHECK(std::isnan(m::mae(tg::tensor(p, tg::f64), y)));
    CHECK(std::isnan(m::r2_score(tg::tensor(p, tg::f64), y)));
    CHECK(std::isnan(m::r2_score(tg::tensor(p, tg::f64), tg::tensor({2, 2, 2}, tg::f64))));
}

TEST_CASE("metrics: errors name the function and the shapes or the value") {
    const tg::Tensor p10 = tg::tensor(kProb, tg::f64);
    const tg::Tensor y9 = tg::zeros({9}, tg::f64);
    CHECK_THROWS_AS(m::accuracy(p10, y9), tg::ShapeError);
    CHECK_THROWS_WITH(m::accuracy(p10, y9), Catch::Contains("accuracy") &&
                                                Catch::Contains("[10]") && Catch::Contains("[9]"));
    CHECK_THROWS_WITH(m::f1_score(column(p10), y9), Catch::Contains("f1_score") &&
                                                        Catch::Contains("[10, 1]") &&
                                                        Catch::Contains("[9]"));
    CHECK_THROWS_WITH(
        m::precision(std::vector<std::size_t>(10, 1), y9),
        Catch::Contains("precision") && Catch::Contains("[10]") && Catch::Contains("[9]"));
    CHECK_THROWS_WITH(
        m::mse(tg::zeros({4}, tg::f32), tg::zeros({5, 1}, tg::f32)),
        Catch::Contains("mse") && Catch::Contains("[4]") && Catch::Contains("[5, 1]"));
    CHECK_THROWS_AS(m::mae(tg::zeros({4, 2}, tg::f64), tg::zeros({4, 3}, tg::f64)), tg::ShapeError);
    CHECK_THROWS_AS(m::r2_score(tg::zeros({2, 2, 2}, tg::f64), tg::zeros({2, 2, 2}, tg::f64)),
                    tg::ShapeError);
    CHECK_THROWS_AS(m::accuracy(tg::zeros({2, 2, 2}, tg::f64), tg::zeros({2}, tg::f64)),
                    tg::ShapeError);
    CHECK_THROWS_AS(m::accuracy(tg::zeros({2}, tg::f64), tg::zeros({2, 2}, tg::f64)),
                    tg::ShapeError);  // a target [N, 2] is not class indices

    // Targets: whole numbers in [0, classes).
    const tg::Tensor s3 = tg::zeros({3, 3}, tg::f64);
    CHECK_THROWS_AS(m::accuracy(s3, tg::tensor({0, 1.5, 2}, tg::f64)), tg::ValueError);
    CHECK_THROWS_WITH(m::accuracy(s3, tg::tensor({0, 1.5, 2}, tg::f64)),
                      Catch::Contains("accuracy") && Catch::Contains("row 1") &&
                          Catch::Contains("1.5") && Catch::Contains("whole"));
    CHECK_THROWS_WITH(m::accuracy(s3, tg::tensor({0, 3, 2}, tg::f64)),
                      Catch::Contains("class 3") && Catch::Contains("[0, 3)"));
    CHECK_THROWS_AS(m::accuracy(s3, tg::tensor({0, -1, 2}, tg::f64)), tg::ValueError);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double nan_target[3] = {0, nan, 1};
    CHECK_THROWS_AS(m::accuracy(s3, tg::tensor(nan_target, tg::f64)), tg::ValueError);
    CHECK_THROWS_WITH(
        m::recall(tg::zeros({3}, tg::f64), tg::tensor({0, 2, 1}, tg::f64)),
        Catch::Contains("recall") && Catch::Contains("class 2") && Catch::Contains("[0, 2)"));
    CHECK_THROWS_AS(m::confusion_matrix(s3, tg::tensor({0, 1, 3}, tg::f64), 3), tg::ValueError);
    CHECK_THROWS_AS(m::confusion_matrix({0, 4, 1}, tg::tensor({0, 1, 2}, tg::f64), 3),
                    tg::ValueError);  // a predicted class outside [0, 3)
    CHECK_THROWS_AS(m::precision({0, 2, 1}, tg::tensor({0, 1, 1}, tg::f64)), tg::ValueError);

    // Binary metrics of more than two classes, and mismatched class counts.
    CHECK_THROWS_AS(m::precision(s3, tg::tensor({0, 1, 1}, tg::f64)), tg::ShapeError);
    CHECK_THROWS_WITH(m::confusion_matrix(s3, tg::tensor({0, 1, 1}, tg::f64), 4),
                      Catch::Contains("confusion_matrix") && Catch::Contains("[3, 3]") &&
                          Catch::Contains("num_classes is 4"));
    CHECK_THROWS_AS(m::confusion_matrix(s3, tg::tensor({0, 1, 1}, tg::f64), 0), tg::ValueError);

    // No examples, and r2 of one.
    CHECK_THROWS_AS(m::accuracy(tg::zeros({0}, tg::f64), tg::zeros({0}, tg::f64)), tg::ValueError);
    CHECK_THROWS_AS(m::mse(tg::zeros({0}, tg::f64), tg::zeros({0}, tg::f64)), tg::ValueError);
    CHECK_THROWS_WITH(m::r2_score(tg::ones({1}, tg::f64), tg::ones({1}, tg::f64)),
                      Catch::Contains("r2_score") && Catch::Contains("at least 2"));
}
