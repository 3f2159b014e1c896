#pragma once
// MPI's lifetime and the process's place in it. A program started by mpirun creates one
// Environment at the start of main; rank() and world_size() then name this process and count
// them all (MPI_COMM_WORLD). Without an Environment they are 0 and 1, so that the same program
// runs alone.
//
//   int main(int argc, char** argv) {
//       tg::distributed::Environment mpi(argc, argv);
//       if (tg::distributed::rank() == 0) std::printf("%d processes\n", mpi.world_size());
#include <functional>
#include <string>

namespace tapegrad::distributed {

class Environment {
  public:
    // MPI_Init unless MPI is initialised already (then this object only reads rank and size);
    // MPI_Finalize at destruction when this object initialised it.
    Environment(int& argc, char**& argv);
    Environment();
    ~Environment();
    Environment(const Environment&) = delete;
    Environment& operator=(const Environment&) = delete;

    int rank() const { return rank_; }
    int world_size() const { return world_size_; }

  private:
    void start(int* argc, char*** argv);
    bool owner_ = false;
    int rank_ = 0, world_size_ = 1;
};

// This process's rank in MPI_COMM_WORLD and the number of processes (0 and 1 before MPI is
// initialised or after it is finalised).
int rank();
int world_size();
bool is_root();  // rank() == 0: the process that prints and writes files

// Whether mpirun (OpenMPI's, or a PMI launcher such as MPICH's Hydra or Slurm's srun) started
// this process, from the variables it sets; a program may then create an Environment.
bool launched_by_mpirun();

// Ends every process of the run: prints "tapegrad: error on rank R of N: <message>" on stderr
// and calls MPI_Abort with `status` (mpirun then exits with it). Without MPI it prints
// "tapegrad: error: <message>" and exits with `status`.
[[noreturn]] void abort(const std::string& message, int status = 1);

// Runs `body`; an exception leaving it on any rank of a run with more than one process ends the
// whole run through abort (the other ranks would wait for it forever in their next collective
// call), with the exception's message. With one process the exception is rethrown.
void run_or_abort(const std::function<void()>& body, int status = 1);

}  // namespace tapegrad::distributed
