// MPI's lifetime, the rank and size, and ending every process when one fails.
#include "tapegrad/distributed/environment.hpp"

#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

namespace tapegrad::distributed {

namespace {

bool mpi_running() {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    return initialized && !finalized;
}

}  // namespace

Environment::Environment(int& argc, char**& argv) {
    start(&argc, &argv);
}

Environment::Environment() {
    start(nullptr, nullptr);
}

void Environment::start(int* argc, char*** argv) {
    if (!mpi_running()) {
        MPI_Init(argc, argv);
        owner_ = true;
    }
    rank_ = distributed::rank();
    world_size_ = distributed::world_size();
}

Environment::~Environment() {
    if (owner_ && mpi_running()) MPI_Finalize();
}

int rank() {
    if (!mpi_running()) return 0;
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int world_size() {
    if (!mpi_running()) return 1;
    int n = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

bool is_root() {
    return rank() == 0;
}

bool launched_by_mpirun() {
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
        if (std::getenv(name)) return true;
    return false;
}

void abort(const std::string& message, int status) {
    if (!mpi_running()) {
        std::fprintf(stderr, "tapegrad: error: %s\n", message.c_str());
        std::fflush(stderr);
        std::exit(status);
    }
    std::fprintf(stderr, "tapegrad: error on rank %d of %d: %s\n", rank(), world_size(),
                 message.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, status);
    std::exit(status);  // MPI_Abort does not return; this keeps [[noreturn]] honest
}

void run_or_abort(const std::function<void()>& body, int status) {
    try {
        body();
    } catch (const std::exception& e) {
        if (world_size() <= 1) throw;
        abort(e.what(), status);
    } catch (...) {
        if (world_size() <= 1) throw;
        abort("an exception that is not a std::exception", status);
    }
}

}  // namespace tapegrad::distributed
