// ProgressBar: a live line per epoch on a terminal, one plain line per epoch elsewhere.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "tapegrad/optim/callbacks.hpp"

namespace tapegrad::optim {

namespace {

double now_seconds() {
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// Only the standard streams have a file descriptor we can ask isatty about.
bool is_terminal(const std::ostream& os) {
    if (&os == &std::cout) return isatty(STDOUT_FILENO);
    if (&os == &std::cerr || &os == &std::clog) return isatty(STDERR_FILENO);
    return false;
}

std::string clock_text(double seconds) {
    const long s = static_cast<long>(std::max(0.0, seconds) + 0.5);
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    return buf;
}

std::string seconds_text(double seconds) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
    return buf;
}

}  // namespace

ProgressBar::ProgressBar(std::ostream& stream, Options options)
    : stream_(&stream), options_(options) {}

void ProgressBar::on_train_begin(TrainState&) {
    terminal_ = options_.mode == ProgressMode::terminal ||
                (options_.mode == ProgressMode::automatic && is_terminal(*stream_));
}

void ProgressBar::on_epoch_begin(TrainState& state) {
    epoch_start_ = now_seconds();
    last_draw_ = -1;
    loss_sum_ = 0;
    batches_ = 0;
    last_width_ = 0;
    if (terminal_) draw(state, true);
}

void ProgressBar::on_batch_end(TrainState& state) {
    loss_sum_ += state.batch_loss;
    ++batches_;
    if (terminal_) draw(state, batches_ == state.loader.num_batches());
}

void ProgressBar::draw(const TrainState& state, bool force) {
    const double t = now_seconds();
    if (!force && last_draw_ >= 0 && t - last_draw_ < options_.refresh_seconds) return;
    last_draw_ = t;
    const std::size_t total = state.loader.num_batches();
    std::string line = "Epoch " + std::to_string(state.epoch + 1) + "/" +
                       std::to_string(state.epochs) + "  " + std::to_string(batches_) + "/" +
                       std::to_string(total) + " [";
    const auto width = static_cast<std::size_t>(std::max(options_.bar_width, 1));
    const std::size_t filled = total ? width * batches_ / total : width;
    line += std::string(filled, '#') + std::string(width - filled, '.') + "]";
    if (batches_ > 0) {
        const double elapsed = t - epoch_start_;
        const double rate = elapsed > 0 ? static_cast<double>(batches_) / elapsed : 0.0;
        char buf[96];
        std::snprintf(buf, sizeof buf, "  loss: %.4g  %.1f batch/s", loss_sum_ / batches_, rate);
        line += buf;
        if (rate > 0) line += "  ETA " + clock_text(static_cast<double>(total - batches_) / rate);
    }
    const std::size_t width_now = line.size();
    if (line.size() < last_width_) line += std::string(last_width_ - line.size(), ' ');
    last_width_ = width_now;
    *stream_ << '\r' << line << std::flush;
    open_ = true;
}

void ProgressBar::on_epoch_end(TrainState& state, Logs& logs) {
    std::string line =
        "Epoch " + std::to_string(state.epoch + 1) + "/" + std::to_string(state.epochs) + "  ";
    if (terminal_) {
        line += std::to_string(batches_) + "/" + std::to_string(state.loader.num_batches()) + "  ";
    }
    line += seconds_text(now_seconds() - epoch_start_) + "  " + format_logs(logs);
    if (terminal_) {
        const std::size_t width_now = line.size();
        if (line.size() < last_width_) line += std::string(last_width_ - line.size(), ' ');
        last_width_ = width_now;
        *stream_ << '\r';
    }
    *stream_ << line << '\n' << std::flush;
    open_ = false;
}

void ProgressBar::on_train_end(TrainState& state) {
    // A failure mid-epoch leaves the live line open: end it before the reason.
    if (open_) *stream_ << '\n';
    open_ = false;
    if (!state.stop_reason.empty()) *stream_ << state.stop_reason << '\n' << std::flush;
}

}  // namespace tapegrad::optim
