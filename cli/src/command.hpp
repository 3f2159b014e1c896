#pragma once
// What the subcommands of `tapegrad` (train, step, bench) share.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>

#include "exit_status.hpp"

namespace tapegrad::cli {

// A subcommand of app whose callback calls run, then sets exit_code to kSuccess. An exception
// from run reaches main, which prints it and returns the status of its kind.
inline CLI::App* add_command(CLI::App& app, const std::string& name, const std::string& description,
                             int& exit_code, std::function<void()> run) {
    auto* cmd = app.add_subcommand(name, description);
    cmd->footer(kExitStatusHelp);
    cmd->callback([run = std::move(run), &exit_code] {
        run();
        exit_code = kSuccess;
    });
    return cmd;
}

// CLI11 reads "-5" into an unsigned option as 2^64 - 5: a sign there is refused, the flag
// named ("--seed: must not be negative, got -1").
inline const CLI::Validator kNotNegative(
    [](std::string& text) {
        return !text.empty() && text[0] == '-' ? "must not be negative, got " + text
                                               : std::string();
    },
    "");

// An option whose default value --help shows (an unsigned one refuses negative values).
template <class T>
CLI::Option* add_option_with_default(CLI::App& cmd, const std::string& name, T& value,
                                     const std::string& help) {
    auto* option = cmd.add_option(name, value, help)->capture_default_str();
    if constexpr (std::is_unsigned_v<T>) option->check(kNotNegative);
    return option;
}

}  // namespace tapegrad::cli
