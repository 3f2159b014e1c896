#pragma once
// What the subcommands of `tapegrad` (train, step, bench) share.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <utility>

namespace tapegrad::cli {

// A subcommand of app whose callback calls run, then sets exit_code to 0. An exception from
// run leaves exit_code as main set it (1) and reaches main, which prints it.
inline CLI::App* add_command(CLI::App& app, const std::string& name, const std::string& description,
                             int& exit_code, std::function<void()> run) {
    auto* cmd = app.add_subcommand(name, description);
    cmd->callback([run = std::move(run), &exit_code] {
        run();
        exit_code = 0;
    });
    return cmd;
}

// An option whose default value --help shows.
template <class T>
CLI::Option* add_option_with_default(CLI::App& cmd, const std::string& name, T& value,
                                     const std::string& help) {
    return cmd.add_option(name, value, help)->capture_default_str();
}

}  // namespace tapegrad::cli
