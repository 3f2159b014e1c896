// parallel.hpp over tapegrad::distributed when it was built (TAPEGRAD_HAVE_DISTRIBUTED), and
// as one process when it was not.
#include "parallel.hpp"

#include <streambuf>

#ifdef TAPEGRAD_HAVE_DISTRIBUTED
#include <tapegrad/distributed/data_parallel.hpp>
#include <tapegrad/distributed/environment.hpp>
#endif

namespace tapegrad::cli {

#ifdef TAPEGRAD_HAVE_DISTRIBUTED
namespace dist = tapegrad::distributed;

std::shared_ptr<void> start_processes(int& argc, char**& argv) {
    if (!dist::launched_by_mpirun()) return nullptr;
    return std::make_shared<dist::Environment>(argc, argv);
}

int process_rank() {
    return dist::rank();
}

int process_count() {
    return dist::world_size();
}

data::DataLoaderOptions shard_for_processes(data::DataLoaderOptions options) {
    return dist::shard(options);
}

optim::FitResult fit_on_processes(nn::Module& model, optim::Optimizer& optimizer,
                                  const optim::LossFn& loss, data::DataLoader& train,
                                  const optim::FitOptions& options, AllreduceCost* cost) {
    if (process_count() == 1) return optim::fit(model, optimizer, loss, train, options);
    dist::AllreduceStats stats;
    auto result = dist::fit(model, optimizer, loss, train, options, &stats);
    if (cost) *cost = {stats.seconds, stats.calls};
    return result;
}

void end_all_processes_on_error(const std::string& message, int status) {
    if (process_count() > 1) dist::abort(message, status);
}

#else

std::shared_ptr<void> start_processes(int&, char**&) {
    return nullptr;
}

int process_rank() {
    return 0;
}

int process_count() {
    return 1;
}

data::DataLoaderOptions shard_for_processes(data::DataLoaderOptions options) {
    return options;
}

optim::FitResult fit_on_processes(nn::Module& model, optim::Optimizer& optimizer,
                                  const optim::LossFn& loss, data::DataLoader& train,
                                  const optim::FitOptions& options, AllreduceCost*) {
    return optim::fit(model, optimizer, loss, train, options);
}

void end_all_processes_on_error(const std::string&, int) {}

#endif

bool is_first_process() {
    return process_rank() == 0;
}

std::ostream& output_of_this_process(std::ostream& out) {
    struct Discard : std::streambuf {
        int overflow(int c) override { return c; }
    };
    static Discard discard;
    static std::ostream nowhere(&discard);
    return is_first_process() ? out : nowhere;
}

}  // namespace tapegrad::cli
