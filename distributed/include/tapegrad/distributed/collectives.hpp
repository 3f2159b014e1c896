#pragma once
// The collective operations data-parallel training is made of, over MPI_COMM_WORLD. Every rank
// must make the same calls in the same order (with tensors of the same shapes and dtypes), as
// with any MPI collective; a rank that skips one leaves the others waiting.
#include <cstddef>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"
#include "tapegrad/nn/module.hpp"

namespace tapegrad::distributed {

// Copies rank `root`'s values of the module's parameters and buffers into every other rank's,
// in named_parameters() then named_buffers() order: all ranks then start from the same model.
void broadcast_parameters(nn::Module& model, int root = 0);
// The same for a list of tensors (each rank's list has the same shapes and dtypes).
void broadcast(std::vector<Tensor>& tensors, int root = 0);

// The sum over ranks of a number, or element by element of an array, on every rank.
double allreduce_sum(double value);
void allreduce_sum(std::vector<double>& values);

// The rows of every rank's tensor (the same shape past the first dimension and the same dtype
// everywhere), one after another in rank order: [sum of the ranks' rows, ...] on every rank.
Tensor allgather_rows(const Tensor& rows);

// What the gradient allreduce of a run cost: wall time inside MPI_Allreduce (waiting for the
// slowest rank included), the calls (one per closure evaluation), the bytes of one call.
struct AllreduceStats {
    double seconds = 0.0;
    std::size_t calls = 0;
    std::size_t bytes = 0;
};

// The gradients of a parameter list summed over ranks, in place: each call scales this rank's
// gradients by `weight`, packs them into one buffer per dtype (made once, so that no step
// allocates), sums the buffers over ranks with one MPI_Allreduce each and unpacks the result
// into the gradients. With weight = this rank's rows / the batch's rows on all ranks, the
// gradient of a mean loss becomes the gradient of the whole batch's mean loss (to rounding).
// A parameter without a gradient sends zeros; it gets the sum when another rank has a gradient
// for it (as one process over the whole batch would have), else it stays without. `value` (a
// weighted loss) is summed in the same call and returned; a model with few float32 parameters (up
// to 16 384) sends them in the double buffer too, so that a small step makes one call, not two.
class GradientAllreduce {
  public:
    explicit GradientAllreduce(std::vector<Tensor> params);

    double allreduce(double weight, double value = 0.0);

    AllreduceStats stats() const;

  private:
    std::vector<Tensor> params_;
    std::vector<float> f32_;    // float32 gradients, unless widened into f64_
    std::vector<double> f64_;   // float64 gradients, [widened float32 ones,] counts, the value
    std::size_t n64_ = 0;       // float64 gradients at the front of f64_
    std::size_t flags_at_ = 0;  // then, after the widened ones, a has-gradient count per param
    bool widened_ = false;
    AllreduceStats stats_;
};

}  // namespace tapegrad::distributed
