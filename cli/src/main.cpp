// The `tapegrad` command. Every error becomes a message and a non-zero exit, never a crash.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include <tapegrad/autodiff/error.hpp>
#include <tapegrad/version.hpp>

#include "bench_command.hpp"
#include "predict_command.hpp"
#include "step_command.hpp"
#include "train_command.hpp"

int main(int argc, char** argv) {
    CLI::App app{
        "tapegrad: reverse-mode automatic differentiation in C++, and the tools around "
        "it"};
    app.set_version_flag("--version", std::string("tapegrad ") + tapegrad::version());
    app.require_subcommand(1);
    int exit_code = 1;
    tapegrad::cli::TrainArgs train;
    tapegrad::cli::add_train_command(app, train, exit_code);
    tapegrad::cli::PredictArgs predict;
    tapegrad::cli::add_predict_command(app, predict, exit_code);
    tapegrad::cli::StepArgs step;
    tapegrad::cli::add_step_command(app, step, exit_code);
    tapegrad::cli::BenchArgs bench;
    tapegrad::cli::add_bench_command(app, bench, exit_code);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const tapegrad::Error& e) {
        std::cerr << "tapegrad: error: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "tapegrad: unexpected error: " << e.what() << "\n";
        return 2;
    }
    return exit_code;
}
