// The `tapegrad` command. Every error becomes a message "tapegrad: error: ..." and the exit
// status of its kind (exit_status.hpp), never a crash.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <string>

#include <tapegrad/autodiff/error.hpp>
#include <tapegrad/version.hpp>

#include "bench_command.hpp"
#include "exit_status.hpp"
#include "parallel.hpp"
#include "predict_command.hpp"
#include "step_command.hpp"
#include "train_command.hpp"

namespace {

using namespace tapegrad::cli;

// CLI11's own errors (an unknown flag, a missing value, a bad number) worded as the others.
std::string failure_message(const CLI::App* app, const CLI::Error& e) {
    std::string help = "tapegrad --help";
    for (const CLI::App* sub : app->get_subcommands())
        help = "tapegrad " + sub->get_name() + " --help";
    return "tapegrad: error: " + std::string(e.what()) + "\nRun '" + help +
           "' for more information.\n";
}

// The first word that is not a flag names the subcommand (the top level's flags take no
// value); CLI11 would only say that a subcommand is required.
void check_command_name(const CLI::App& app, int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string word = argv[i];
        if (word.empty() || word[0] == '-') continue;
        std::string known;
        for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
            if (sub->get_name() == word) return;
            known += (known.empty() ? "" : ", ") + sub->get_name();
        }
        throw UsageError("unknown command '" + word + "' (commands: " + known + ")");
    }
}

// The error's message on stderr and its exit status; under mpirun with several processes the
// message names this process's rank and every process ends (one alone would leave the others
// waiting for it).
int fail(const char* kind, const char* message, int status) {
    end_all_processes_on_error(message, status);
    std::cerr << "tapegrad: " << kind << ": " << message << "\n";
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    const auto processes = start_processes(argc, argv);
    CLI::App app{
        "tapegrad: reverse-mode automatic differentiation in C++, and the tools around "
        "it"};
    app.set_version_flag("--version", std::string("tapegrad ") + tapegrad::version());
    app.require_subcommand(1);
    app.footer(kExitStatusHelp);
    app.failure_message(failure_message);
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
        check_command_name(app, argc, argv);
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help and --version are "errors" of status 0 too.
        return app.exit(e) == 0 ? kSuccess : kBadUsage;
    } catch (const UsageError& e) {
        return fail("error", e.what(), kBadUsage);
    } catch (const DivergedError& e) {
        return fail("error", e.what(), kDiverged);
    } catch (const tapegrad::Error& e) {
        return fail("error", e.what(), kBadInput);
    } catch (const std::exception& e) {
        return fail("unexpected error", e.what(), kInternalError);
    }
    return exit_code;
}
