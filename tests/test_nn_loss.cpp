// Losses (tapegrad/nn/loss.hpp): values and gradients against PyTorch 1.13, gradient checks
// of every loss and reduction, stability at extreme inputs, and the wording of the errors.
#include <cstdint>
#include <string>
#include <tapegrad/nn/loss.hpp>
#include <vector>
#include <xtensor/xadapt.hpp>

#include "check.hpp"

using namespace testing;
using tg::nn::Reduction;

namespace {

struct Reference {
    const char* name;                 // "loss/reduction"
    std::vector<double> value;        // the loss, flattened
    std::vector<double> grad_input;   // d sum(loss) / d input, flattened
    std::vector<double> grad_target;  // d sum(loss) / d target (empty: not differentiated)
};

// ---- BEGIN loss_reference.py ----
// Every number in this block (inputs and results) is the output of
//   /usr/bin/python3 tests/data/loss_reference.py
// i.e. torch.nn.functional of PyTorch 1.13.1 (Debian python3-torch) in float64, pasted
// as printed and then formatted by clang-format. Shapes: kX, kY, kP, kPY, kZ, kZY are [2, 3]; kL
// and kLP [3, 4]; kLX [2, 3].
const std::vector<double> kX = {0.3, -1.2, 2.5, 0.05, 0.7, -0.4};
const std::vector<double> kY = {0.1, 0.8, 0.5, -0.6, 1.6, 1.1};
const std::vector<double> kP = {0.1, 0.5, 0.9, 0.3, 0.99, 0.02};
const std::vector<double> kPY = {0.0, 1.0, 1.0, 0.2, 0.0, 0.7};
const std::vector<double> kZ = {-2.0, 0.0, 3.5, 1000.0, -1000.0, 0.7};
const std::vector<double> kZY = {0.0, 1.0, 0.3, 0.0, 0.0, 1.0};
const std::vector<double> kL = {1.0, 2.0, 0.5, -1.0, 0.0, 0.0, 0.0, 0.0, 3.0, -2.0, 1.5, 0.2};
const std::vector<double> kLX = {1000.0, -1000.0, 0.0, -1000.0, 1000.0, 0.0};
const std::vector<double> kLP = {-1.5, -0.3, -2.0, -4.0, -0.7, -1.1,
                                 -2.2, -0.9, -0.1, -3.0, -2.5, -6.0};
const std::vector<std::int64_t> kLT = {1, 3, 0};
const std::vector<std::int64_t> kLXT = {1, 1};
const std::vector<Reference> kReference = {
    {"mse_loss/mean",
     {1.9204166666666669},
     {0.06666666666666665, -0.6666666666666666, 0.6666666666666666, 0.21666666666666667,
      -0.30000000000000004, -0.5},
     {-0.06666666666666665, 0.6666666666666666, -0.6666666666666666, -0.21666666666666667,
      0.30000000000000004, 0.5}},
    {"mse_loss/sum",
     {11.5225},
     {0.39999999999999997, -4.0, 4.0, 1.3, -1.8000000000000003, -3.0},
     {-0.39999999999999997, 4.0, -4.0, -1.3, 1.8000000000000003, 3.0}},
    {"mse_loss/none",
     {0.039999999999999994, 4.0, 4.0, 0.42250000000000004, 0.8100000000000003, 2.25},
     {0.39999999999999997, -4.0, 4.0, 1.3, -1.8000000000000003, -3.0},
     {-0.39999999999999997, 4.0, -4.0, -1.3, 1.8000000000000003, 3.0}},
    {"l1_loss/mean",
     {1.2083333333333335},
     {0.16666666666666666, -0.16666666666666666, 0.16666666666666666, 0.16666666666666666,
      -0.16666666666666666, -0.16666666666666666},
     {-0.16666666666666666, 0.16666666666666666, -0.16666666666666666, -0.16666666666666666,
      0.16666666666666666, 0.16666666666666666}},
    {"l1_loss/sum",
     {7.250000000000001},
     {1.0, -1.0, 1.0, 1.0, -1.0, -1.0},
     {-1.0, 1.0, -1.0, -1.0, 1.0, 1.0}},
    {"l1_loss/none",
     {0.19999999999999998, 2.0, 2.0, 0.65, 0.9000000000000001, 1.5},
     {1.0, -1.0, 1.0, 1.0, -1.0, -1.0},
     {-1.0, 1.0, -1.0, -1.0, 1.0, 1.0}},
    {"huber_loss/mean",
     {0.7727083333333334},
     {0.033333333333333326, -0.16666666666666666, 0.16666666666666666, 0.10833333333333334,
      -0.15000000000000002, -0.16666666666666666},
     {-0.033333333333333326, 0.16666666666666666, -0.16666666666666666, -0.10833333333333334,
      0.15000000000000002, 0.16666666666666666}},
    {"huber_loss/sum",
     {4.63625},
     {0.19999999999999998, -1.0, 1.0, 0.65, -0.9000000000000001, -1.0},
     {-0.19999999999999998, 1.0, -1.0, -0.65, 0.9000000000000001, 1.0}},
    {"huber_loss/none",
     {0.019999999999999997, 1.5, 1.5, 0.21125000000000002, 0.40500000000000014, 1.0},
     {0.19999999999999998, -1.0, 1.0, 0.65, -0.9000000000000001, -1.0},
     {-0.19999999999999998, 1.0, -1.0, -0.65, 0.9000000000000001, 1.0}},
    {"huber_loss_0.5/mean",
     {0.48666666666666675},
     {0.033333333333333326, -0.08333333333333333, 0.08333333333333333, 0.08333333333333333,
      -0.08333333333333333, -0.08333333333333333},
     {-0.033333333333333326, 0.08333333333333333, -0.08333333333333333, -0.08333333333333333,
      0.08333333333333333, 0.08333333333333333}},
    {"huber_loss_0.5/sum",
     {2.9200000000000004},
     {0.19999999999999998, -0.5, 0.5, 0.5, -0.5, -0.5},
     {-0.19999999999999998, 0.5, -0.5, -0.5, 0.5, 0.5}},
    {"huber_loss_0.5/none",
     {0.019999999999999997, 0.875, 0.875, 0.2, 0.32500000000000007, 0.625},
     {0.19999999999999998, -0.5, 0.5, 0.5, -0.5, -0.5},
     {-0.19999999999999998, 0.5, -0.5, -0.5, 0.5, 0.5}},
    {"binary_cross_entropy/mean",
     {1.4632749716458031},
     {0.18518518518518515, -0.3333333333333333, -0.1851851851851852, 0.07936507936507935,
      16.66666666666665, -5.782312925170068},
     {0.36620409622270317, 0.0, -0.3662040962227033, 0.14121631006453395, -0.7658533083557649,
      0.6486367163517711}},
    {"binary_cross_entropy/sum",
     {8.779649829874819},
     {1.111111111111111, -2.0, -1.1111111111111112, 0.4761904761904761, 99.9999999999999,
      -34.69387755102041},
     {2.197224577336219, 0.0, -2.1972245773362196, 0.8472978603872037, -4.59511985013459,
      3.8918202981106265}},
    {"binary_cross_entropy/none",
     {0.10536051565782628, 0.6931471805599453, 0.10536051565782628, 0.5261345160161732,
      4.605170185988091, 2.744476915994958},
     {1.111111111111111, -2.0, -1.1111111111111112, 0.4761904761904761, 99.9999999999999,
      -34.69387755102041},
     {2.197224577336219, 0.0, -2.1972245773362196, 0.8472978603872037, -4.59511985013459,
      3.8918202981106265}},
    {"bce_with_logits/mean",
     {167.28383527646017},
     {0.019867153670352924, -0.08333333333333333, 0.11178129487477395, 0.16666666666666666, 0.0,
      -0.055302037971972307},
     {0.3333333333333333, -0.0, -0.5833333333333334, -166.66666666666666, 166.66666666666666,
      -0.11666666666666665}},
    {"bce_with_logits/sum",
     {1003.7030116587609},
     {0.11920292202211755, -0.5, 0.6706877692486437, 1.0, 0.0, -0.33181222783183384},
     {2.0, -0.0, -3.5, -1000.0, 1000.0, -0.7}},
    {"bce_with_logits/none",
     {0.1269280110429726, 0.6931471805599453, 2.47975041827262, 1000.0, 0.0, 0.40318604888545784},
     {0.11920292202211755, -0.5, 0.6706877692486437, 1.0, 0.0, -0.33181222783183384},
     {2.0, -0.0, -3.5, -1000.0, 1000.0, -0.7}},
    {"cross_entropy/mean",
     {0.7122146841475927},
     {0.07473593934940037, -0.13017998746704096, 0.045329638597835176, 0.010114409519805408,
      0.08333333333333333, 0.08333333333333333, 0.08333333333333333, -0.25, -0.07507117229281016,
      0.0017401567529603213, 0.05762607735325151, 0.015704938186598343},
     {}},
    {"cross_entropy/sum",
     {2.136644052442778},
     {0.22420781804820114, -0.3905399624011229, 0.13598891579350553, 0.030343228559416225, 0.25,
      0.25, 0.25, -0.75, -0.2252135168784305, 0.005220470258880964, 0.17287823205975453,
      0.047114814559795035},
     {}},
    {"cross_entropy/none",
     {0.49518189808585605, 1.3862943611198906, 0.25516779323703126},
     {0.22420781804820114, -0.3905399624011229, 0.13598891579350553, 0.030343228559416225, 0.25,
      0.25, 0.25, -0.75, -0.2252135168784305, 0.005220470258880964, 0.17287823205975453,
      0.047114814559795035},
     {}},
    {"cross_entropy_ls0.1/mean",
     {0.835548017480926},
     {0.06640260601606707, -0.10517998746704092, 0.03699630526450186, 0.001781076186472078,
      0.07500000000000001, 0.07500000000000001, 0.07500000000000001, -0.225, -0.05007117229281011,
      -0.006593176580373011, 0.04929274401991819, 0.007371604853265016},
     {}},
    {"cross_entropy_ls0.1/sum",
     {2.506644052442778},
     {0.19920781804820115, -0.3155399624011229, 0.11098891579350553, 0.005343228559416224, 0.225,
      0.225, 0.225, -0.675, -0.15021351687843054, -0.019779529741119038, 0.14787823205975453,
      0.022114814559795033},
     {}},
    {"cross_entropy_ls0.1/none",
     {0.6326818980858561, 1.3862943611198906, 0.48766779323703124},
     {0.19920781804820115, -0.3155399624011229, 0.11098891579350553, 0.005343228559416224, 0.225,
      0.225, 0.225, -0.675, -0.15021351687843054, -0.019779529741119038, 0.14787823205975453,
      0.022114814559795033},
     {}},
    {"cross_entropy_ls1/mean",
     {1.9455480174809259},
     {-0.008597393983932953, 0.11982001253295904, -0.03800369473549815, -0.07321892381352792, 0.0,
      0.0, 0.0, 0.0, 0.17492882770718982, -0.081593176580373, -0.025707255980081823,
      -0.06762839514673498},
     {}},
    {"cross_entropy_ls1/sum",
     {5.836644052442778},
     {-0.02579218195179886, 0.3594600375988771, -0.11401108420649447, -0.21965677144058376, 0.0,
      0.0, 0.0, 0.0, 0.5247864831215695, -0.24477952974111902, -0.07712176794024547,
      -0.20288518544020495},
     {}},
    {"cross_entropy_ls1/none",
     {1.870181898085856, 1.3862943611198906, 2.580167793237031},
     {-0.02579218195179886, 0.3594600375988771, -0.11401108420649447, -0.21965677144058376, 0.0,
      0.0, 0.0, 0.0, 0.5247864831215695, -0.24477952974111902, -0.07712176794024547,
      -0.20288518544020495},
     {}},
    {"cross_entropy_extreme/mean",
     {1000.0},
     {0.4666666666666667, -0.43333333333333335, -0.03333333333333333, -0.03333333333333333,
      0.06666666666666665, -0.03333333333333333},
     {}},
    {"cross_entropy_extreme/sum",
     {2000.0},
     {0.9333333333333333, -0.8666666666666667, -0.06666666666666667, -0.06666666666666667,
      0.1333333333333333, -0.06666666666666667},
     {}},
    {"cross_entropy_extreme/none",
     {1800.0, 200.0},
     {0.9333333333333333, -0.8666666666666667, -0.06666666666666667, -0.06666666666666667,
      0.1333333333333333, -0.06666666666666667},
     {}},
    {"nll_loss/mean",
     {0.43333333333333335},
     {0.0, -0.3333333333333333, 0.0, 0.0, 0.0, 0.0, 0.0, -0.3333333333333333, -0.3333333333333333,
      0.0, 0.0, 0.0},
     {}},
    {"nll_loss/sum", {1.3}, {0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, -1.0, 0.0, 0.0, 0.0}, {}},
    {"nll_loss/none",
     {0.3, 0.9, 0.1},
     {0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, -1.0, 0.0, 0.0, 0.0},
     {}},
};
// ---- END loss_reference.py ----

const std::vector<Reduction> kReductions = {Reduction::mean, Reduction::sum, Reduction::none};

const char* reduction_name(Reduction r) {
    return r == Reduction::mean ? "mean" : r == Reduction::sum ? "sum" : "none";
}

tg::Tensor make(const std::vector<double>& v, const tg::Shape& shape, tg::Dtype dt) {
    xt::xarray<double> a = xt::adapt(v, shape);
    if (dt == tg::f64) return tg::from_array(std::move(a));
    return tg::from_array(xt::xarray<float>(xt::cast<float>(a)));
}

// Every element of t against want, within atol + rtol |want|.
void check_values(const tg::Tensor& t, const std::vector<double>& want, double rtol, double atol) {
    const auto got = t.to_array<double>();
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        INFO("element " << i << ": got " << got.data()[i] << ", want " << want[i]);
        CHECK(std::abs(got.data()[i] - want[i]) <= atol + rtol * std::abs(want[i]));
    }
}

struct Outcome {
    tg::Tensor value, input, target;  // target undefined for class losses
};

// Runs the loss named as in the reference block on its inputs, in dtype dt, and takes the
// gradients of sum(loss). Class losses take their classes as a vector or as a float tensor.
Outcome run_reference(const std::string& name, tg::Dtype dt, bool classes_as_tensor) {
    const std::string loss = name.substr(0, name.find('/'));
    const std::string red = name.substr(name.find('/') + 1);
    const Reduction r = red == "mean"  ? Reduction::mean
                        : red == "sum" ? Reduction::sum
                                       : Reduction::none;
    Outcome o;
    tg::Tape tape;
    auto pair = [&](const std::vector<double>& x, const std::vector<double>& y) {
        o.input = make(x, {2, 3}, dt).requires_grad_();
        o.target = make(y, {2, 3}, dt).requires_grad_();
    };
    auto classes = [&](const std::vector<std::int64_t>& c) {
        std::vector<double> v(c.begin(), c.end());
        return make(v, {c.size()}, dt);
    };
    if (loss == "mse_loss") {
        pair(kX, kY);
        o.value = tg::nn::mse_loss(o.input, o.target, r);
    } else if (loss == "l1_loss") {
        pair(kX, kY);
        o.value = tg::nn::l1_loss(o.input, o.target, r);
    } else if (loss == "huber_loss" || loss == "huber_loss_0.5") {
        pair(kX, kY);
        o.value = tg::nn::huber_loss(o.input, o.target, r, loss == "huber_loss" ? 1.0 : 0.5);
    } else if (loss == "binary_cross_entropy") {
        pair(kP, kPY);
        o.value = tg::nn::binary_cross_entropy(o.input, o.target, r);
    } else if (loss == "bce_with_logits") {
        pair(kZ, kZY);
        o.value = tg::nn::bce_with_logits(o.input, o.target, r);
    } else if (loss == "nll_loss") {
        o.input = make(kLP, {3, 4}, dt).requires_grad_();
        o.value = classes_as_tensor ? tg::nn::nll_loss(o.input, classes(kLT), r)
                                    : tg::nn::nll_loss(o.input, kLT, r);
    } else {
        const bool extreme = loss == "cross_entropy_extreme";
        const double eps = loss == "cross_entropy"         ? 0.0
                           : loss == "cross_entropy_ls0.1" ? 0.1
                           : loss == "cross_entropy_ls1"   ? 1.0
                                                           : 0.2;
        REQUIRE((extreme || eps != 0.2));  // an unknown name would land here
        o.input = extreme ? make(kLX, {2, 3}, dt) : make(kL, {3, 4}, dt);
        o.input.requires_grad_();
        const auto& t = extreme ? kLXT : kLT;
        o.value = classes_as_tensor ? tg::nn::cross_entropy(o.input, classes(t), r, eps)
                                    : tg::nn::cross_entropy(o.input, t, r, eps);
    }
    tape.backward(tg::sum(o.value));
    return o;
}

void check_reference(tg::Dtype dt, double rtol, double atol) {
    for (const auto& ref : kReference) {
        for (bool as_tensor : {false, true}) {
            INFO(ref.name << (as_tensor ? " (classes as a tensor)" : "") << " in "
                          << (dt == tg::f64 ? "float64" : "float32"));
            const Outcome o = run_reference(ref.name, dt, as_tensor);
            CHECK(o.value.dtype() == dt);
            check_values(o.value, ref.value, rtol, atol);
            check_values(o.input.grad(), ref.grad_input, rtol, atol);
            if (!ref.grad_target.empty())
                check_values(o.target.grad(), ref.grad_target, rtol, atol);
        }
    }
}

// Differences d with |d| in [0.1, 2.5] and at least 0.1 from every kink (0 included).
tg::Tensor differences(const tg::Shape& s, std::uint64_t seed, std::vector<double> kinks) {
    tg::Tensor m = tg::uniform(s, 0.1, 2.5, seed, tg::f64);
    tg::Tensor sign = tg::uniform(s, -1.0, 1.0, seed + 1000, tg::f64);
    auto& mv = m.mutable_value<double>();
    for (std::size_t i = 0; i < mv.size(); ++i) {
        double& v = mv.data()[i];
        for (double k : kinks)
            if (std::abs(v - k) < 0.1) v += 0.25;
        if (sign.value<double>().data()[i] < 0) v = -v;
    }
    return m;
}

const std::vector<tg::Shape> kShapes = {{}, {5}, {3, 4}, {2, 3, 2}};

using Loss2 = std::function<tg::Tensor(const tg::Tensor&, const tg::Tensor&, Reduction)>;

// gradcheck with respect to input and target, every shape and reduction; target = input - d.
void gradcheck_pair(const Loss2& loss, tg::Tensor (*make_input)(const tg::Shape&, std::uint64_t),
                    tg::Tensor (*make_target)(const tg::Tensor&, std::uint64_t), std::uint64_t seed,
                    int order) {
    for (const auto& s : kShapes) {
        for (const Reduction r : kReductions) {
            INFO("shape " << tg::shape_str(s) << ", reduction " << reduction_name(r));
            const tg::Tensor x = make_input(s, ++seed);
            const tg::Tensor y = make_target(x, ++seed);
            REQUIRE_GRADCHECK_ORDER(
                order,
                std::function<tg::Tensor(const tg::Tensor&, const tg::Tensor&)>(
                    [&](const tg::Tensor& a, const tg::Tensor& b) { return loss(a, b, r); }),
                {x, y});
        }
    }
}

tg::Tensor target_at(const tg::Tensor& x, const tg::Tensor& d) {
    tg::Tensor y = x.detach();
    y -= d;
    return y;
}
tg::Tensor target_near(const tg::Tensor& x, std::uint64_t seed) {
    return target_at(x, normal(x.shape(), seed));
}
tg::Tensor target_off_zero(const tg::Tensor& x, std::uint64_t seed) {
    return target_at(x, differences(x.shape(), seed, {0.0}));
}
tg::Tensor target_off_delta1(const tg::Tensor& x, std::uint64_t seed) {
    return target_at(x, differences(x.shape(), seed, {0.0, 1.0}));
}
tg::Tensor target_off_delta07(const tg::Tensor& x, std::uint64_t seed) {
    return target_at(x, differences(x.shape(), seed, {0.0, 0.7}));
}
tg::Tensor probabilities(const tg::Shape& s, std::uint64_t seed) {
    return in_range(s, seed, 0.05, 0.95);
}
tg::Tensor soft_labels(const tg::Tensor& x, std::uint64_t seed) {
    return in_range(x.shape(), seed, 0.0, 1.0);
}
tg::Tensor wide_logits(const tg::Shape& s, std::uint64_t seed) {
    tg::Tensor t = normal(s, seed);
    t *= 2.5;
    return t;
}

std::vector<std::int64_t> random_classes(std::size_t n, std::size_t c, std::uint64_t seed) {
    tg::Generator g(seed);
    std::vector<std::int64_t> out(n);
    for (auto& v : out) v = static_cast<std::int64_t>(g.below(c));
    return out;
}

}  // namespace

TEST_CASE("values and gradients match PyTorch 1.13 in float64") {
    check_reference(tg::f64, 1e-12, 1e-12);
}

TEST_CASE("values and gradients match PyTorch 1.13 in float32") {
    check_reference(tg::f32, 1e-4, 1e-5);
}

TEST_CASE("reduction none keeps the per-element or per-row shape") {
    const auto x = normal({2, 3, 2}, 1), y = normal({2, 3, 2}, 2);
    CHECK(tg::nn::mse_loss(x, y, Reduction::none).shape() == tg::Shape{2, 3, 2});
    CHECK(tg::nn::bce_with_logits(x, y, Reduction::none).shape() == tg::Shape{2, 3, 2});
    CHECK(tg::nn::mse_loss(x, y).shape() == tg::Shape{});
    CHECK(tg::nn::l1_loss(x, y, Reduction::sum).shape() == tg::Shape{});
    const auto s = normal({}, 3), t = normal({}, 4);
    CHECK(tg::nn::huber_loss(s, t, Reduction::none).shape() == tg::Shape{});
    const auto logits = normal({5, 3}, 5);
    CHECK(tg::nn::cross_entropy(logits, random_classes(5, 3, 6), Reduction::none).shape() ==
          tg::Shape{5});
    CHECK(tg::nn::nll_loss(logits, random_classes(5, 3, 7), Reduction::none).shape() ==
          tg::Shape{5});
}

TEST_CASE("gradcheck mse_loss, first and second order") {
    const int order = GENERATE(1, 2);
    gradcheck_pair(tg::nn::mse_loss, normal, target_near, 100, order);
}
TEST_CASE("gradcheck l1_loss away from d = 0, first and second order") {
    const int order = GENERATE(1, 2);
    gradcheck_pair(tg::nn::l1_loss, normal, target_off_zero, 200, order);
}
TEST_CASE("gradcheck huber_loss away from d = 0 and |d| = delta, first and second order") {
    const int order = GENERATE(1, 2);
    gradcheck_pair([](const tg::Tensor& x, const tg::Tensor& y,
                      Reduction r) { return tg::nn::huber_loss(x, y, r); },
                   normal, target_off_delta1, 300, order);
    gradcheck_pair([](const tg::Tensor& x, const tg::Tensor& y,
                      Reduction r) { return tg::nn::huber_loss(x, y, r, 0.7); },
                   normal, target_off_delta07, 350, order);
}
TEST_CASE(
    "gradcheck binary_cross_entropy (probabilities and soft targets), first and second order") {
    const int order = GENERATE(1, 2);
    gradcheck_pair(tg::nn::binary_cross_entropy, probabilities, soft_labels, 400, order);
}
TEST_CASE("gradcheck bce_with_logits, first and second order") {
    const int order = GENERATE(1, 2);
    gradcheck_pair(tg::nn::bce_with_logits, wide_logits, soft_labels, 500, order);
}

TEST_CASE(
    "gradcheck cross_entropy and nll_loss with respect to the logits, first and second order") {
    const int order = GENERATE(1, 2);
    std::uint64_t seed = 600;
    for (const auto& [n, c] : {std::pair<std::size_t, std::size_t>{1, 1}, {1, 4}, {6, 3}, {4, 7}}) {
        const auto classes = random_classes(n, c, ++seed);
        std::vector<double> as_floats(classes.begin(), classes.end());
        const tg::Tensor class_tensor = make(as_floats, {n}, tg::f64);
        for (const Reduction r : kReductions) {
            for (const double eps : {0.0, 0.1, 1.0}) {
                INFO("[" << n << ", " << c << "], " << reduction_name(r) << ", eps " << eps);
                const tg::Tensor x = wide_logits({n, c}, ++seed);
                REQUIRE_GRADCHECK_ORDER(
                    order, std::function<tg::Tensor(const tg::Tensor&)>([&](const tg::Tensor& a) {
                        return tg::nn::cross_entropy(a, classes, r, eps);
                    }),
                    {x});
                REQUIRE_GRADCHECK_ORDER(
                    order, std::function<tg::Tensor(const tg::Tensor&)>([&](const tg::Tensor& a) {
                        return tg::nn::cross_entropy(a, class_tensor, r, eps);
                    }),
                    {x});
            }
            const tg::Tensor lp = normal({n, c}, ++seed);
            REQUIRE_GRADCHECK_ORDER(
                order, std::function<tg::Tensor(const tg::Tensor&)>([&](const tg::Tensor& a) {
                    return tg::nn::nll_loss(a, classes, r);
                }),
                {lp});
            REQUIRE_GRADCHECK_ORDER(
                order, std::function<tg::Tensor(const tg::Tensor&)>([&](const tg::Tensor& a) {
                    return tg::nn::nll_loss(a, class_tensor, r);
                }),
                {lp});
        }
    }
}

TEST_CASE("l2_penalty is weight times the sum of squares, with gradient 2 weight p") {
    const auto a = tg::tensor({1.0, 2.0}, tg::f64), b = tg::tensor({{3.0}, {-1.0}}, tg::f64);
    tg::Tensor pa = a.detach().requires_grad_(), pb = b.detach().requires_grad_();
    {
        tg::Tape tape;
        const auto p = tg::nn::l2_penalty({pa, pb}, 0.5);
        CHECK(p.shape() == tg::Shape{});
        CHECK(p.item() == 0.5 * (1 + 4 + 9 + 1));
        tape.backward(p);
    }
    check_values(pa.grad(), {1.0, 2.0}, 0, 0);  // 2 * 0.5 * p = p
    check_values(pb.grad(), {3.0, -1.0}, 0, 0);
    REQUIRE_GRADCHECK(tg::GradcheckFn([](const std::vector<tg::Tensor>& ps) {
                          return tg::nn::l2_penalty(ps, 0.01);
                      }),
                      {normal({3, 2}, 700), normal({4}, 701), normal({}, 702)});
    // float32 parameters, as a model trains them.
    const auto f = tg::nn::l2_penalty({tg::full({10}, 2.0f, tg::f32)}, 0.1);
    CHECK(f.dtype() == tg::f32);
    CHECK(f.item() == Approx(4.0).epsilon(1e-6));
}

TEST_CASE("bce_with_logits has gradient exactly sigmoid(0) - y = 0.5 - y at x = 0") {
    for (const tg::Dtype dt : {tg::f64, tg::f32}) {
        INFO((dt == tg::f64 ? "float64" : "float32"));
        const std::vector<double> ys = {0.0, 1.0, 0.25, 0.7};
        const tg::Tensor y = make(ys, {4}, dt);
        // 0.5 - y and (0.5 - y) / 4 computed in dtype dt (both exact scalings of one rounding).
        const auto diff = (tg::full({4}, 0.5, dt) - y).to_array<double>();
        const std::vector<double> want(diff.begin(), diff.end());
        std::vector<double> want_mean;
        for (double v : want) want_mean.push_back(v / 4.0);
        tg::Tensor x = tg::zeros({4}, dt).requires_grad_();
        {
            tg::Tape tape;
            tape.backward(tg::nn::bce_with_logits(x, y, Reduction::sum));
        }
        check_values(x.grad(), want, 0, 0);
        x.zero_grad();
        {
            tg::Tape tape;  // the mean over 4 elements scales by exactly 1/4
            tape.backward(tg::nn::bce_with_logits(x, y));
        }
        check_values(x.grad(), want_mean, 0, 0);
    }
}

TEST_CASE("logistic regression from zero weights gets gradient X^T (0.5 - y) / N") {
    // Every logit is exactly 0 on the first step: the case the fused rule exists for.
    const auto X = tg::tensor({{1.0, 2.0}, {-1.0, 0.5}, {0.3, -2.0}, {2.0, 1.0}}, tg::f64);
    const auto y = tg::tensor({{1.0}, {0.0}, {1.0}, {0.0}}, tg::f64);
    tg::Tensor w = tg::zeros({2, 1}, tg::f64).requires_grad_();
    {
        tg::Tape tape;
        tape.backward(tg::nn::bce_with_logits(tg::matmul(X, w), y));
    }
    const auto& xv = X.value<double>();
    for (std::size_t j = 0; j < 2; ++j) {
        double want = 0;
        for (std::size_t i = 0; i < 4; ++i)
            want += xv(i, j) * (0.5 - y.value<double>()(i, 0)) / 4.0;
        CHECK(w.grad().value<double>()(j, 0) == Approx(want).margin(1e-15));
    }
    CHECK(w.grad().value<double>()(0, 0) != 0.0);  // -0.275: not the zero a relu kink gives
}

TEST_CASE("bce_with_logits and cross_entropy are finite and exact at logits of +-1000") {
    for (const tg::Dtype dt : {tg::f64, tg::f32}) {
        INFO((dt == tg::f64 ? "float64" : "float32"));
        tg::Tensor x = make({1000.0, -1000.0, 1000.0, -1000.0}, {4}, dt).requires_grad_();
        tg::Tensor y = make({1.0, 0.0, 0.0, 1.0}, {4}, dt).requires_grad_();
        {
            tg::Tape tape;
            const auto l = tg::nn::bce_with_logits(x, y, Reduction::none);
            check_values(l, {0.0, 0.0, 1000.0, 1000.0}, 0, 0);
            tape.backward(tg::sum(l));
        }
        check_values(x.grad(), {0.0, 0.0, 1.0, -1.0}, 0, 0);               // sigmoid(x) - y
        check_values(y.grad(), {-1000.0, 1000.0, -1000.0, 1000.0}, 0, 0);  // -x

        tg::Tensor z = make({1000.0, -1000.0, -1000.0, 1000.0}, {2, 2}, dt).requires_grad_();
        {
            tg::Tape tape;
            // Row 0 is certain of its class; row 1 is certain of the wrong one.
            const auto l = tg::nn::cross_entropy(z, {0, 0}, Reduction::none);
            check_values(l, {0.0, 2000.0}, 0, 0);
            tape.backward(tg::sum(l));
        }
        check_values(z.grad(), {0.0, 0.0, -1.0, 1.0}, 0, 0);  // softmax - one-hot
    }
}

TEST_CASE("binary_cross_entropy at p = 0 and 1 is finite: the logs are clamped at -100") {
    for (const tg::Dtype dt : {tg::f64, tg::f32}) {
        INFO((dt == tg::f64 ? "float64" : "float32"));
        tg::Tensor p = make({0.0, 0.0, 1.0, 1.0}, {4}, dt).requires_grad_();
        tg::Tensor y = make({1.0, 0.0, 0.0, 1.0}, {4}, dt).requires_grad_();
        {
            tg::Tape tape;
            const auto l = tg::nn::binary_cross_entropy(p, y, Reduction::none);
            check_values(l, {100.0, 0.0, 100.0, 0.0}, 0, 0);  // PyTorch gives the same
            tape.backward(tg::sum(l));
        }
        // PyTorch's (p - y) / max(p (1 - p), 1e-12): -1e12, 0, 1e12, 0.
        check_values(p.grad(), {-1e12, 0.0, 1e12, 0.0}, 1e-6, 0);
        // The clamped logs differentiated in y: max(log(1-p), -100) - max(log p, -100).
        check_values(y.grad(), {100.0, 100.0, -100.0, -100.0}, 0, 0);
        const auto mean = tg::nn::binary_cross_entropy(p, y);
        CHECK(mean.item() == 50.0);
    }
}

TEST_CASE("class indices stay with the tape after the caller's vector is gone") {
    tg::Tensor x = normal({2, 3}, 800).requires_grad_();
    tg::Tape tape;
    auto loss = tg::nn::cross_entropy(x, std::vector<std::int64_t>{2, 0}, Reduction::sum);
    tape.backward(loss);
    const auto g = x.grad().value<double>();
    const auto p = tg::softmax(x.detach()).value<double>();
    CHECK(g(0, 2) == Approx(p(0, 2) - 1.0));
    CHECK(g(1, 0) == Approx(p(1, 0) - 1.0));
    CHECK(g(0, 0) == Approx(p(0, 0)));
}

TEST_CASE("one class written in place, {c}, is a class index and not a tensor") {
    // Uniform logits over 4 classes: -log(1/4) whichever the class.
    const auto x = tg::zeros({1, 4}, tg::f64);
    CHECK(tg::nn::cross_entropy(x, {0}).item() == Approx(std::log(4.0)));
    CHECK(tg::nn::nll_loss(tg::full({1, 4}, -0.25, tg::f64), {3}).item() == 0.25);
}

TEST_CASE("elementwise losses refuse mismatched shapes, naming the function and both shapes") {
    const auto x = tg::ones({3, 1}, tg::f64), y = tg::ones({3}, tg::f64);
    CHECK_THROWS_AS(tg::nn::mse_loss(x, y), tg::ShapeError);
    CHECK_THROWS_WITH(tg::nn::mse_loss(x, y),
                      Catch::Contains("mse_loss") && Catch::Contains("[3, 1]") &&
                          Catch::Contains("[3]") && Catch::Contains("broadcast"));
    CHECK_THROWS_WITH(tg::nn::l1_loss(y, x), Catch::StartsWith("l1_loss:"));
    CHECK_THROWS_WITH(tg::nn::huber_loss(x, y), Catch::StartsWith("huber_loss:"));
    CHECK_THROWS_WITH(tg::nn::binary_cross_entropy(x, y),
                      Catch::StartsWith("binary_cross_entropy:"));
    CHECK_THROWS_WITH(tg::nn::bce_with_logits(x, y),
                      Catch::StartsWith("bce_with_logits:") && Catch::Contains("[3, 1]"));
    CHECK_THROWS_AS(tg::nn::bce_with_logits(x, y), tg::ShapeError);
}

TEST_CASE("a class out of range names the function, the row and the value") {
    const auto x = tg::zeros({3, 4}, tg::f64);
    CHECK_THROWS_AS(tg::nn::cross_entropy(x, {0, 1, 4}), tg::ValueError);
    CHECK_THROWS_WITH(tg::nn::cross_entropy(x, {0, 1, 4}),
                      Catch::Contains("cross_entropy") && Catch::Contains("row 2") &&
                          Catch::Contains("class 4") && Catch::Contains("[0, 4)"));
    CHECK_THROWS_WITH(tg::nn::cross_entropy(x, {-1, 1, 2}),
                      Catch::Contains("row 0") && Catch::Contains("class -1"));
    CHECK_THROWS_WITH(tg::nn::nll_loss(x, {0, 7, 1}), Catch::Contains("nll_loss") &&
                                                          Catch::Contains("row 1") &&
                                                          Catch::Contains("class 7"));
    // The same classes held in a float tensor.
    CHECK_THROWS_WITH(
        tg::nn::cross_entropy(x, tg::tensor({0.0, 5.0, 1.0})),
        Catch::Contains("cross_entropy") && Catch::Contains("row 1") && Catch::Contains("class 5"));
    CHECK_THROWS_AS(tg::nn::nll_loss(x, tg::tensor({0.0, 1.0, -2.0})), tg::ValueError);
}

TEST_CASE("a class that is not a whole number names the function, the row and the value") {
    const auto x = tg::zeros({3, 4}, tg::f64);
    CHECK_THROWS_AS(tg::nn::cross_entropy(x, tg::tensor({0.0, 1.5, 2.0})), tg::ValueError);
    CHECK_THROWS_WITH(tg::nn::cross_entropy(x, tg::tensor({0.0, 1.5, 2.0})),
                      Catch::Contains("cross_entropy") && Catch::Contains("row 1") &&
                          Catch::Contains("1.5") && Catch::Contains("whole"));
    CHECK_THROWS_WITH(
        tg::nn::nll_loss(x, tg::tensor({0.0, 1.0, std::nan("")})),
        Catch::Contains("nll_loss") && Catch::Contains("row 2") && Catch::Contains("nan"));
    CHECK_NOTHROW(tg::nn::cross_entropy(x, tg::tensor({0.0, 3.0, 2.0})));
}

TEST_CASE("class losses check the shapes of logits and targets") {
    const auto x = tg::zeros({3, 4}, tg::f64);
    CHECK_THROWS_AS(tg::nn::cross_entropy(x, {0, 1}), tg::ShapeError);
    CHECK_THROWS_WITH(tg::nn::cross_entropy(x, {0, 1}), Catch::Contains("[3, 4]") &&
                                                            Catch::Contains("3 rows") &&
                                                            Catch::Contains("2 class indices"));
    CHECK_THROWS_WITH(tg::nn::cross_entropy(tg::zeros({4}, tg::f64), {0}),
                      Catch::Contains("[N, C]") && Catch::Contains("[4]"));
    CHECK_THROWS_WITH(tg::nn::cross_entropy(x, tg::zeros({3, 4}, tg::f64)),
                      Catch::Contains("shape [N]") && Catch::Contains("[3, 4]"));
    CHECK_THROWS_AS(tg::nn::nll_loss(tg::zeros({2, 3, 4}, tg::f64), {0, 1}), tg::ShapeError);
}

TEST_CASE("arguments outside their domain are refused") {
    const auto x = tg::zeros({2, 3}, tg::f64);
    CHECK_THROWS_WITH(tg::nn::cross_entropy(x, {0, 1}, Reduction::mean, 1.5),
                      Catch::Contains("label_smoothing") && Catch::Contains("1.5"));
    CHECK_THROWS_AS(tg::nn::cross_entropy(x, {0, 1}, Reduction::mean, -0.1), tg::ValueError);
    CHECK_THROWS_WITH(tg::nn::huber_loss(x, x, Reduction::mean, 0.0),
                      Catch::Contains("huber_loss") && Catch::Contains("delta"));
    const auto p = tg::tensor({0.2, 1.25, 0.5}, tg::f64), y = tg::zeros({3}, tg::f64);
    CHECK_THROWS_AS(tg::nn::binary_cross_entropy(p, y), tg::ValueError);
    CHECK_THROWS_WITH(tg::nn::binary_cross_entropy(p, y), Catch::Contains("element 1") &&
                                                              Catch::Contains("1.25") &&
                                                              Catch::Contains("bce_with_logits"));
    // A NaN probability passes through, so a diverging model shows a NaN loss.
    CHECK(std::isnan(tg::nn::binary_cross_entropy(tg::tensor({0.5, std::nan("")}, tg::f64),
                                                  tg::zeros({2}, tg::f64))
                         .item()));
    CHECK_THROWS_AS(tg::nn::l2_penalty({}, 0.1), tg::ValueError);
    CHECK_THROWS_AS(tg::nn::mse_loss(tg::zeros({2}, tg::f32), tg::zeros({2}, tg::f64)),
                    tg::DtypeError);
    CHECK_THROWS_WITH(tg::nn::mse_loss(tg::zeros({2}, tg::f32), tg::zeros({2}, tg::f64)),
                      Catch::Contains("mse_loss"));
}

TEST_CASE("gradgradcheck l2_penalty") {
    REQUIRE_GRADCHECK_ORDER(2, tg::GradcheckFn([](const std::vector<tg::Tensor>& ps) {
                                return tg::nn::l2_penalty(ps, 0.01);
                            }),
                            {normal({3, 2}, 710), normal({4}, 711), normal({}, 712)});
}
