// The tapegrad command's pieces: the --model and --optim flags, and `train` end to end on
// small files, including the errors it must report instead of crashing.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tapegrad/formats/npz.hpp>
#include <tapegrad/nn/serialize.hpp>
#include <tuple>

#include "check.hpp"
#include "files.hpp"
#include "model_file.hpp"
#include "model_spec.hpp"
#include "optimizer_factory.hpp"
#include "predict_command.hpp"
#include "train_command.hpp"

namespace cli = tapegrad::cli;
namespace fs = std::filesystem;
using testing::scratch;

namespace {

fs::path write_file(const std::string& name, const std::string& text) {
    const auto p = scratch(name);
    std::ofstream(p) << text;
    return p;
}

const std::string kData = std::string(TAPEGRAD_TEST_DATA) + "/../../examples/data/";

// What `tapegrad train` prints for these arguments.
std::string train_output(const cli::TrainArgs& a) {
    std::ostringstream out;
    cli::run_train(a, out);
    return out.str();
}

// The number printed right after key in s (the test fails when key is not there).
double number_after(const std::string& s, const std::string& key) {
    const auto pos = s.find(key);
    REQUIRE(pos != std::string::npos);
    return std::stod(s.substr(pos + key.size()));
}

}  // namespace

TEST_CASE("the model flag: linear and mlp:H1,H2 build the layers they say, bad text is named") {
    auto m = cli::build_model(cli::parse_model_spec("mlp:8,4", "tanh"), 3, 2);
    CHECK(m->repr() ==
          "Sequential(\n"
          "  (0): Linear(in_features=3, out_features=8, bias=True)\n"
          "  (1): Tanh()\n"
          "  (2): Linear(in_features=8, out_features=4, bias=True)\n"
          "  (3): Tanh()\n"
          "  (4): Linear(in_features=4, out_features=2, bias=True)\n"
          ")");
    CHECK(cli::build_model(cli::parse_model_spec("linear", "relu"), 5, 1)->num_parameters() == 6);
    CHECK_THROWS_WITH(cli::parse_model_spec("mlp:8,x", "relu"),
                      Catch::Contains("'x' is not a layer width"));
    CHECK_THROWS_WITH(cli::parse_model_spec("mlp:", "relu"), Catch::Contains("--model"));
    CHECK_THROWS_WITH(cli::parse_model_spec("mlp:0", "relu"), Catch::Contains("'0'"));
    CHECK_THROWS_WITH(cli::parse_model_spec("cnn", "relu"), Catch::Contains("'cnn'"));
    CHECK_THROWS_WITH(cli::parse_model_spec("linear", "swish"), Catch::Contains("--activation"));
}

TEST_CASE("the optim flag: every listed name makes its optimizer, an unknown one lists the names") {
    for (const auto& name : cli::optimizer_names()) {
        auto p = tg::zeros({2}).requires_grad_();
        auto opt = cli::make_optimizer(name, {p}, cli::default_lr(name));
        CHECK(opt->lr() == cli::default_lr(name));
    }
    CHECK_THROWS_WITH(cli::make_optimizer("adamax", {tg::zeros({1}).requires_grad_()}, 0.1),
                      Catch::Contains("unknown optimizer 'adamax'") && Catch::Contains("lbfgs"));
}

TEST_CASE("train on iris (three classes, sorted by class) reaches a good validation accuracy") {
    cli::TrainArgs a;
    a.data = kData + "iris.csv";
    a.target = "target";
    a.model = "mlp:16";
    a.epochs = 150;
    const std::string s = train_output(a);
    INFO(s);
    CHECK_THAT(s, Catch::Contains("150 rows, 4 features, 3 classes"));
    CHECK(number_after(s, "val_accuracy=") >= 0.9);
}

TEST_CASE("train a regression and save the model with its scaler") {
    std::string csv = "a,b,y\n";
    tg::Generator g(3);
    for (int i = 0; i < 200; ++i) {
        const double a = g.normal(), b = 10 * g.normal() + 50;
        csv += std::to_string(a) + "," + std::to_string(b) + "," +
               std::to_string(3 * a - 0.2 * b + 0.01 * g.normal()) + "\n";
    }
    cli::TrainArgs a;
    a.data = write_file("regression.csv", csv).string();
    a.target = "y";
    a.lr = 0.01;
    a.save = scratch("regression.npz").string();
    a.history = scratch("regression_history.csv").string();
    const std::string s = train_output(a);
    INFO(s);
    CHECK_THAT(s, Catch::Contains("regression"));
    CHECK(number_after(s, "val_r2=") > 0.99);
    const auto saved = tg::formats::load_npz(a.save);
    CHECK(saved.count("0.weight") == 1);
    CHECK(saved.count("_tapegrad.feature_scaler.mean") == 1);
    CHECK(saved.count("_tapegrad.target_scaler.scale") == 1);
    std::ifstream h(a.history);
    std::string header;
    std::getline(h, header);
    CHECK_THAT(header, Catch::StartsWith("epoch,"));
}

TEST_CASE("train reports bad files and bad flags with what was wrong") {
    cli::TrainArgs a;
    a.target = "target";
    std::ostringstream out;
    a.data = scratch("missing.csv").string();
    CHECK_THROWS_WITH(cli::run_train(a, out), Catch::Contains("missing.csv"));
    a.data = write_file("bad.csv", "x,target\n1,0\n2,oops\n").string();
    CHECK_THROWS_WITH(cli::run_train(a, out),
                      Catch::Contains("bad.csv:3") && Catch::Contains("oops"));
    a.data = write_file("good.csv", "x,target\n1,0\n2,1\n3,0\n4,1\n5,0\n6,1\n").string();
    a.target = "label";
    CHECK_THROWS_WITH(cli::run_train(a, out), Catch::Contains("label"));
    a.target = "target";
    a.val_split = 1.5;
    CHECK_THROWS_WITH(cli::run_train(a, out), Catch::Contains("--val-split"));
    a.val_split = 0.2;
    a.optim = "adamax";
    CHECK_THROWS_WITH(cli::run_train(a, out), Catch::Contains("unknown optimizer"));
    a.optim = "adam";
    a.task = "guess";
    CHECK_THROWS_WITH(cli::run_train(a, out), Catch::Contains("--task"));
}

TEST_CASE("the optimizer table feeds --optim's help, the default rates and the factory") {
    const std::string help = cli::optimizer_help();
    for (const auto& choice : cli::optimizer_choices()) {
        CHECK_THAT(help, Catch::Contains(std::string(choice.name) + " ("));
        CHECK(cli::default_lr(std::string(choice.name)) == choice.default_lr);
        auto opt = choice.make({tg::zeros({2}).requires_grad_()}, choice.default_lr);
        CHECK(opt->lr() == choice.default_lr);
    }
    CHECK(cli::optimizer_names().size() == cli::optimizer_choices().size());
    CHECK(cli::find_optimizer("lbfgs").full_batch);
    CHECK_FALSE(cli::find_optimizer("adam").full_batch);
    CHECK_THROWS_WITH(cli::default_lr("adamax"), Catch::Contains("unknown optimizer 'adamax'"));
}

TEST_CASE("build_model draws every layer from one generator of its seed, as manual_seed did") {
    const auto spec = cli::parse_model_spec("mlp:5,4", "relu");
    tg::manual_seed(123);  // the thread's generator plays no part
    const auto model = cli::build_model(spec, 3, 2, 9);
    // The weights the command had when it set the thread's generator with manual_seed(9).
    tg::manual_seed(9);
    const tg::nn::Linear first(3, 5, {.init = tg::nn::Init::kaiming_uniform});
    const tg::nn::Linear second(5, 4, {.init = tg::nn::Init::kaiming_uniform});
    const tg::nn::Linear output(4, 2);
    const auto now = model->parameters();
    const std::vector<tg::Tensor> then = {first.weight, first.bias,    second.weight,
                                          second.bias,  output.weight, output.bias};
    REQUIRE(now.size() == then.size());
    for (std::size_t i = 0; i < now.size(); ++i)
        CHECK(now[i].value<float>() == then[i].value<float>());
}

TEST_CASE("train with lbfgs runs through fit: metrics every epoch, the stop reason, a history") {
    const cli::TrainArgs lbfgs{.data = kData + "iris.csv",
                               .target = "target",
                               .optim = "lbfgs",
                               .early_stopping = 3,
                               .history = scratch("lbfgs_history.csv").string()};
    std::ostringstream printed;
    cli::run_train(lbfgs, printed);
    INFO(printed.str());
    CHECK_THAT(printed.str(), Catch::Contains("Epoch 1/200") && Catch::Contains("- accuracy: ") &&
                                  Catch::Contains("early stopping: val_loss did not improve") &&
                                  Catch::Contains("final: train_loss="));
    std::ifstream history(lbfgs.history);
    std::string header, first_row;
    std::getline(history, header);
    std::getline(history, first_row);
    CHECK(header == "epoch,accuracy,loss,lr,val_accuracy,val_loss");
    CHECK_THAT(first_row, Catch::StartsWith("1,"));

    cli::TrainArgs with_finder = lbfgs;
    with_finder.find_lr = true;
    CHECK_THROWS_WITH(cli::run_train(with_finder, printed),
                      Catch::Contains("--find-lr does not apply to lbfgs"));
}

TEST_CASE("train --find-lr says a suggestion inside the sweep, the printed rate / 10") {
    // The sweep runs from 1e-7 to 10; the old rule could suggest its first rate (raised from
    // the minimum's rate / 10, so the text said another number than the one used).
    for (const auto& [file, target, task] : {std::tuple{"iris.csv", "petal_width", "regress"},
                                             std::tuple{"breast_cancer.csv", "target", "auto"}}) {
        for (const char* optim : {"adam", "rmsprop"}) {
            for (std::uint64_t seed = 0; seed < 4; ++seed) {
                cli::TrainArgs a;
                a.data = kData + file;
                a.target = target;
                a.task = task;
                a.optim = optim;
                a.seed = seed;
                a.epochs = 1;
                a.find_lr = true;
                const std::string out = train_output(a);
                INFO(file << " " << optim << " seed " << seed << "\n" << out);
                const double suggested = number_after(out, "suggested learning rate ");
                const double lowest_at = number_after(out, "smoothed loss lowest at ");
                CHECK(suggested == Approx(lowest_at / 10).epsilon(1e-5));
                CHECK(suggested > 1e-7);
                CHECK(suggested < 10);
                CHECK(number_after(out, "lr: ") ==
                      Approx(suggested).epsilon(1e-3));  // used (4 digits)
            }
        }
    }
}

namespace {

// A model trained on iris, its class (target) or, with task "regress", its petal_width; saved
// to a file of its own.
std::string saved_iris_model(const std::string& task) {
    cli::TrainArgs a{.data = kData + "iris.csv",
                     .target = task == "regress" ? "petal_width" : "target",
                     .task = task,
                     .save = scratch("iris_" + task + ".npz").string()};
    std::ostringstream out;
    cli::run_train(a, out);
    return a.save;
}

// `tapegrad predict --output`: the predictions file and the report.
std::pair<std::string, std::string> predict(const std::string& model, const fs::path& data) {
    const fs::path output = scratch("predictions.csv");
    std::ostringstream out, err;
    cli::run_predict({.model = model, .data = data.string(), .output = output.string()}, out, err);
    CHECK(err.str().empty());
    return {testing::read_file(output), out.str()};
}

// The mean of the numbers in the lines after the header.
double mean_of_column(const std::string& csv) {
    const auto lines = testing::lines_of(csv);
    double sum = 0;
    for (std::size_t i = 1; i < lines.size(); ++i) sum += std::stod(lines[i]);
    return sum / static_cast<double>(lines.size() - 1);
}

}  // namespace

TEST_CASE("a saved model describes itself and still loads with nn::load, strict") {
    const std::string path = saved_iris_model("regress");
    auto weights_only = cli::build_model(cli::parse_model_spec("linear", "relu"), 4, 1);
    CHECK_NOTHROW(tg::nn::load(*weights_only, path, {.strict = true}));

    const auto entries = tg::formats::load_npz(path);
    const std::string json = tg::formats::text_of(entries.at("_tapegrad.model"));
    testing::check_contains(json, {"\"format_version\": 1", "\"task\": \"regress\"",
                                   "\"target\": \"petal_width\"", "\"model\": \"linear\""});
    const cli::ModelFile m = cli::load_model_file(path);
    CHECK(m.description.features ==
          std::vector<std::string>{"sepal_length", "sepal_width", "petal_length", "target"});
    REQUIRE(m.description.target_scaler.fitted());
    // petal_width's mean on the training rows (1.2 on all 150).
    CHECK(m.description.target_scaler.mean().value<double>()(0) == Approx(1.2).margin(0.15));
    CHECK(m.model->state_dict().at("0.weight").value<float>() ==
          entries.at("0.weight").value<float>());
}

TEST_CASE("predict gives a regression's values in the target's units") {
    const auto [csv, report] = predict(saved_iris_model("regress"), kData + "iris.csv");
    INFO(report);
    CHECK_THAT(csv, Catch::StartsWith("petal_width\n"));
    CHECK(testing::lines_of(csv).size() == 151);
    // The data's mean is 1.199; standardised predictions would average about 0.
    CHECK(mean_of_column(csv) == Approx(1.199).margin(0.15));
    CHECK_THAT(report,
               Catch::Contains("tapegrad predict: 150 rows: loss=") && Catch::Contains(" r2=0."));
}

TEST_CASE("predict finds the columns by name, in any order, and names the ones it ignores") {
    const std::string model = saved_iris_model("auto");
    const auto [as_trained, report] = predict(model, kData + "iris.csv");
    CHECK_THAT(report, Catch::Contains("150 rows: loss=") && Catch::Contains("accuracy="));
    CHECK_THAT(as_trained, Catch::StartsWith("target\n0\n"));

    // The same rows with the columns reversed, an extra column and no target.
    const auto rows = testing::lines_of(testing::read_file(kData + "iris.csv"));
    std::string shuffled = "id,petal_width,petal_length,sepal_width,sepal_length\n";
    for (std::size_t i = 1; i < rows.size(); ++i) {
        std::vector<std::string> cells;
        std::stringstream line(rows[i]);
        for (std::string c; std::getline(line, c, ',');) cells.push_back(c);
        shuffled += std::to_string(i) + "," + cells[3] + "," + cells[2] + "," + cells[1] + "," +
                    cells[0] + "\n";
    }
    const auto [reordered, reordered_report] =
        predict(model, write_file("iris_reordered.csv", shuffled));
    CHECK(reordered == as_trained);
    CHECK(reordered_report ==
          "tapegrad predict: 150 rows\nignored columns (not features of the model): id\n");
}

TEST_CASE("predict names missing columns, unknown classes, and refuses files that are not models") {
    const std::string model = saved_iris_model("auto");
    std::ostringstream out, err;
    const auto run = [&](const std::string& model_path, const fs::path& data) {
        cli::run_predict({.model = model_path, .data = data.string(), .output = ""}, out, err);
    };
    CHECK_THROWS_WITH(
        run(model, write_file("iris_no_petal.csv", "sepal_length,sepal_width,x\n1,2,3\n")),
        Catch::Contains("iris_no_petal.csv: 2 of the model's 4 feature columns are "
                        "missing: 'petal_length', 'petal_width'"));
    CHECK_THROWS_WITH(
        run(model, write_file("iris_class_7.csv",
                              "sepal_length,sepal_width,petal_length,"
                              "petal_width,target\n1,2,3,4,0\n1,2,3,4,7\n")),
        Catch::Contains("the target in row 2 is 7, not one of the model's 3 classes"));

    CHECK_THROWS_WITH(
        run(model, write_file("iris_nan.csv",
                              "sepal_length,sepal_width,petal_length,"
                              "petal_width\n1,2,3,4\n1,nan,3,4\n")),
        Catch::Contains("iris_nan.csv: data row 2 (after the header), column 'sepal_width': nan "
                        "is not a value"));

    // Weights only, as nn::save writes them.
    auto plain = cli::build_model(cli::parse_model_spec("linear", "relu"), 4, 3);
    const auto weights_only = scratch("weights_only.npz");
    tg::nn::save(*plain, weights_only);
    CHECK_THROWS_WITH(run(weights_only.string(), kData + "iris.csv"),
                      Catch::Contains("weights_only.npz: not a tapegrad model file"));

    // Copies of the model file with one piece of its description changed.
    const auto edited = [&](const std::string& name, const std::string& from,
                            const std::string& to) {
        auto entries = tg::formats::load_npz(model);
        std::string json = tg::formats::text_of(entries.at("_tapegrad.model"));
        entries.erase("_tapegrad.model");
        const auto at = json.find(from);
        REQUIRE(at != std::string::npos);
        json.replace(at, from.size(), to);
        const auto path = scratch(name);
        tg::formats::save_npz(path, entries, {{"_tapegrad.model", json}});
        return path.string();
    };
    CHECK_THROWS_WITH(
        run(edited("future.npz", "\"format_version\": 1", "\"format_version\": 99"),
            kData + "iris.csv"),
        Catch::Contains("future.npz: _tapegrad.model: format version 99 is not one this tapegrad "
                        "reads"));
    CHECK_THROWS_WITH(
        run(edited("incomplete.npz", "\"features\"", "\"no_features\""), kData + "iris.csv"),
        Catch::Contains("incomplete.npz: _tapegrad.model: the field 'features' is missing"));
    CHECK_THROWS_WITH(
        run(edited("cnn.npz", "\"model\": \"linear\"", "\"model\": \"cnn\""), kData + "iris.csv"),
        Catch::Contains("cnn.npz: _tapegrad.model: --model: expected 'linear' or 'mlp:H1,H2,...'"));
    CHECK(out.str().empty());
}

TEST_CASE("without standardisation the model file has no scalers and predict still agrees") {
    cli::TrainArgs a{.data = kData + "iris.csv",
                     .target = "petal_width",
                     .task = "regress",
                     .epochs = 20,
                     .standardize = false,
                     .save = scratch("raw.npz").string(),
                     .predictions = scratch("raw_train.csv").string()};
    std::ostringstream out;
    cli::run_train(a, out);
    const auto entries = tg::formats::load_npz(a.save);
    CHECK(entries.count("_tapegrad.feature_scaler.mean") == 0);
    CHECK(entries.count("_tapegrad.target_scaler.mean") == 0);
    CHECK_THAT(tg::formats::text_of(entries.at("_tapegrad.model")),
               Catch::Contains("\"feature_scaler\": \"none\"") &&
                   Catch::Contains("\"target_scaler\": \"none\""));
    const auto [csv, report] = predict(a.save, kData + "iris.csv");
    CHECK(csv == testing::read_file(a.predictions));
    CHECK_THAT(out.str(), Catch::Contains("predictions: " + a.predictions + ", " +
                                          report.substr(report.find("150 rows"))));
}
