// Broadcast, allreduce and allgather of tensors and numbers over MPI_COMM_WORLD.
#include "tapegrad/distributed/collectives.hpp"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <string>

#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/distributed/environment.hpp"

namespace tapegrad::distributed {

namespace {

template <class T>
MPI_Datatype mpi_type() {
    return std::is_same_v<T, float> ? MPI_FLOAT : MPI_DOUBLE;
}

void check_count(std::size_t n, const char* who) {
    if (n > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        throw ValueError(std::string(who) + ": " + std::to_string(n) +
                         " elements, more than one MPI call can carry");
}

template <class T>
void broadcast_value(Tensor& t, int root) {
    auto& v = t.mutable_value<T>();
    check_count(v.size(), "broadcast");
    MPI_Bcast(v.data(), static_cast<int>(v.size()), mpi_type<T>(), root, MPI_COMM_WORLD);
}

template <class T>
Tensor allgather_typed(const Tensor& rows) {
    const Shape& shape = rows.shape();
    if (shape.empty()) throw ValueError("allgather_rows: a scalar has no rows");
    const std::size_t per_row = shape[0] ? rows.numel() / shape[0] : 0;
    const int n = world_size();
    const int mine = static_cast<int>(rows.numel());
    std::vector<int> counts(n), offsets(n);
    MPI_Allgather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
    std::size_t total = 0;
    for (int r = 0; r < n; ++r) {
        offsets[r] = static_cast<int>(total);
        total += static_cast<std::size_t>(counts[r]);
    }
    check_count(total, "allgather_rows");
    Shape out_shape = shape;
    out_shape[0] = per_row ? total / per_row : 0;
    xt::xarray<T> out = xt::xarray<T>::from_shape(out_shape);
    const xt::xarray<T>& in = rows.value<T>();  // a tensor's array is contiguous
    MPI_Allgatherv(in.data(), mine, mpi_type<T>(), out.data(), counts.data(), offsets.data(),
                   mpi_type<T>(), MPI_COMM_WORLD);
    return Tensor(std::move(out));
}

// A gradient recorded for differentiating again (backward with create_graph, as Newton's exact
// Hessian does) would be changed under the tape that recorded it: the sum over ranks cannot
// reach its derivatives, so it is refused rather than summed wrongly.
void check_not_recorded(const Tensor& grad) {
    if (grad.is_leaf() && !grad.requires_grad()) return;
    throw ValueError(
        "GradientAllreduce: a gradient was recorded for differentiating again (backward with "
        "create_graph, as Newton's exact Hessian does), and its derivatives cannot be summed "
        "over processes; use Newton with .hessian = HessianMethod::finite_differences");
}

// The T gradients into the buffer (scaled in T), or back out of it; zeros for a missing
// gradient. The buffer may be wider than T (D = double for float gradients, see below).
template <class T, class D>
void pack(const std::vector<Tensor>& params, D* buffer, double weight) {
    std::size_t at = 0;
    for (const Tensor& p : params) {
        if (p.dtype() != dtype_of<T>()) continue;
        const std::size_t n = p.numel();
        if (p.has_grad()) {
            check_not_recorded(p.grad());
            const T* g = p.grad().value<T>().data();
            const T w = static_cast<T>(weight);
            for (std::size_t i = 0; i < n; ++i) buffer[at + i] = static_cast<D>(g[i] * w);
        } else {
            std::fill_n(buffer + at, n, D(0));
        }
        at += n;
    }
}

template <class T, class D>
void unpack(const std::vector<Tensor>& params, const D* buffer) {
    std::size_t at = 0;
    for (const Tensor& p : params) {
        if (p.dtype() != dtype_of<T>()) continue;
        const std::size_t n = p.numel();
        if (p.has_grad()) {
            T* g = p.grad().mutable_value<T>().data();
            for (std::size_t i = 0; i < n; ++i) g[i] = static_cast<T>(buffer[at + i]);
        }
        at += n;
    }
}

// Up to this many float32 gradients travel as doubles in the one double buffer, beside the
// float64 ones and the number summed with them: a small allreduce costs its latency, not its
// bytes, and one call waits once. Two floats summed in double and rounded back give the float
// sum exactly; over more ranks the double sum is the more accurate one.
constexpr std::size_t kWidenedFloats = std::size_t{1} << 14;

}  // namespace

void broadcast(std::vector<Tensor>& tensors, int root) {
    for (Tensor& t : tensors) {
        if (t.dtype() == f32)
            broadcast_value<float>(t, root);
        else
            broadcast_value<double>(t, root);
    }
}

void broadcast_parameters(nn::Module& model, int root) {
    std::vector<Tensor> all;
    for (auto& [name, t] : model.named_parameters()) all.push_back(t);
    for (auto& [name, t] : model.named_buffers()) all.push_back(t);
    broadcast(all, root);
}

double allreduce_sum(double value) {
    MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return value;
}

void allreduce_sum(std::vector<double>& values) {
    check_count(values.size(), "allreduce_sum");
    MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_SUM,
                  MPI_COMM_WORLD);
}

Tensor allgather_rows(const Tensor& rows) {
    return rows.dtype() == f32 ? allgather_typed<float>(rows) : allgather_typed<double>(rows);
}

GradientAllreduce::GradientAllreduce(std::vector<Tensor> params) : params_(std::move(params)) {
    std::size_t n32 = 0, n64 = 0;
    for (const Tensor& p : params_) (p.dtype() == f32 ? n32 : n64) += p.numel();
    widened_ = n32 <= kWidenedFloats;
    n64_ = n64;
    f32_.resize(widened_ ? 0 : n32);
    flags_at_ = n64 + (widened_ ? n32 : 0);
    // After the gradients: one "has a gradient" count per parameter, then the number summed.
    f64_.resize(flags_at_ + params_.size() + 1);
    check_count(std::max(f32_.size(), f64_.size()), "GradientAllreduce");
}

AllreduceStats GradientAllreduce::stats() const {
    AllreduceStats s = stats_;
    s.bytes = f32_.size() * sizeof(float) + f64_.size() * sizeof(double);
    return s;
}

double GradientAllreduce::allreduce(double weight, double value) {
    double* widened = f64_.data() + n64_;  // where float32 gradients go when widened
    pack<double>(params_, f64_.data(), weight);
    if (widened_) {
        pack<float>(params_, widened, weight);
    } else {
        pack<float>(params_, f32_.data(), weight);
    }
    for (std::size_t i = 0; i < params_.size(); ++i)
        f64_[flags_at_ + i] = params_[i].has_grad() ? 1.0 : 0.0;
    f64_.back() = value;
    const auto t0 = std::chrono::steady_clock::now();
    if (!f32_.empty())
        MPI_Allreduce(MPI_IN_PLACE, f32_.data(), static_cast<int>(f32_.size()), MPI_FLOAT, MPI_SUM,
                      MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, f64_.data(), static_cast<int>(f64_.size()), MPI_DOUBLE, MPI_SUM,
                  MPI_COMM_WORLD);
    stats_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++stats_.calls;
    // A parameter that has a gradient on some ranks only (used by some rows of the batch) gets
    // the sum everywhere, as one process over the whole batch would: otherwise the ranks'
    // optimizers would step different parameters and the replicas drift apart unseen.
    for (std::size_t i = 0; i < params_.size(); ++i)
        if (f64_[flags_at_ + i] > 0 && !params_[i].has_grad()) (void)params_[i].grad();
    unpack<double>(params_, f64_.data());
    if (widened_) {
        unpack<float>(params_, widened);
    } else {
        unpack<float>(params_, f32_.data());
    }
    return f64_.back();
}

}  // namespace tapegrad::distributed
