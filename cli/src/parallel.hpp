#pragma once
// The command under mpirun: data-parallel training when tapegrad::distributed was built (MPI
// found) and mpirun started more than one process; one process otherwise. The rest of the
// command asks only these functions, so that it builds the same without MPI.
#include <memory>
#include <ostream>
#include <string>

#include <tapegrad/data/data_loader.hpp>
#include <tapegrad/optim/fit.hpp>

namespace tapegrad::cli {

// Starts MPI when mpirun launched the command (and the build has MPI); MPI ends when the
// returned object does. Call once, at the top of main.
std::shared_ptr<void> start_processes(int& argc, char**& argv);

int process_rank();       // 0 without MPI
int process_count();      // 1 without MPI
bool is_first_process();  // the one that prints and writes files

// Where the command's output goes: `out` on the first process, nowhere on the others.
std::ostream& output_of_this_process(std::ostream& out);

// The loader's options with this process's share of every batch.
data::DataLoaderOptions shard_for_processes(data::DataLoaderOptions options);

// optim::fit, or distributed::fit when there are several processes; then `cost`, when given,
// receives the time spent summing gradients and the number of sums.
struct AllreduceCost {
    double seconds = 0.0;
    std::size_t calls = 0;
};
optim::FitResult fit_on_processes(nn::Module& model, optim::Optimizer& optimizer,
                                  const optim::LossFn& loss, data::DataLoader& train,
                                  const optim::FitOptions& options, AllreduceCost* cost = nullptr);

// With several processes: prints the message with this process's rank and ends them all with
// `status` (the others would wait for this one forever). With one it returns.
void end_all_processes_on_error(const std::string& message, int status);

}  // namespace tapegrad::cli
