#pragma once
// `tapegrad bench WORKLOAD`: the workloads of bench/compare, one JSON line per run. PyTorch's
// side of each is bench/torch_bench.py (same data, sizes and hyper-parameters, same keys).
//   tiny      2-16-16-1 tanh MLP, BCE with logits, 400 rows full batch, Adam 0.01, 2000 steps
//   fmnist    784-256-128-10 ReLU MLP, Fashion-MNIST, cross-entropy, Adam 1e-3, batch 128, 3 epochs
//   logreg    logistic regression on 2 000 000 x 20 rows, SGD 0.1, batch 256, one epoch
//   matmul    1024x1024 matmul forward and backward through the tape, and bare sgemm beside it
//   overhead  a recorded scalar add; a chain of 100 adds forward and backward
#include <optional>
#include <ostream>
#include <string>

namespace CLI {
class App;
}

namespace tapegrad::cli {

struct BenchArgs {
    std::string workload;         // one of the above, or "all"
    std::optional<int> threads;   // OpenBLAS's pool; unset: as the environment configures it
    std::string dtype = "f32";    // f32 | f64
    std::string data_dir;         // the folder with make_classification_400.csv
    bool data_dir_given = false;  // --data was on the command line (only tiny reads it)
};

// Adds the subcommand and its flags; the callback runs it and sets exit_code.
CLI::App* add_bench_command(CLI::App& app, BenchArgs& args, int& exit_code);
// Runs the workload(s), one JSON line each to out. Throws UsageError for a bad workload or
// flag, another tapegrad::Error on bad input.
void run_bench(const BenchArgs& args, std::ostream& out);

}  // namespace tapegrad::cli
