#include "tapegrad/nn/serialize.hpp"

#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/formats/npz.hpp"

namespace tapegrad::nn {

void save(const Module& model, const std::filesystem::path& path) {
    formats::save_npz(path, model.state_dict());
}

void load(Module& model, const std::filesystem::path& path, bool strict) {
    StateDict state = formats::load_npz(path);
    std::erase_if(state,
                  [](const auto& entry) { return entry.first.starts_with(kReservedPrefix); });
    try {
        model.load_state_dict(state, strict);
    } catch (const ValueError& e) {
        throw ValueError(path.string() + ": " + e.what());
    }
}

}  // namespace tapegrad::nn
