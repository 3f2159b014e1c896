// load_fashion_mnist: the IDX files of Fashion-MNIST (https://github.com/zalando-research/
// fashion-mnist) as Debian's dataset-fashion-mnist installs them, gzip-compressed, in
// /usr/share/datasets/fashion-mnist/; the uncompressed names are tried first.
#include <string>

#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/data/readers.hpp"

namespace tapegrad::data {

namespace fs = std::filesystem;

namespace {

fs::path find_file(const fs::path& dir, const std::string& name) {
    std::error_code ec;
    for (const fs::path& p : {dir / name, dir / (name + ".gz")})
        if (fs::is_regular_file(p, ec)) return p;
    throw IoError("load_fashion_mnist: neither " + (dir / name).string() + " nor " + name +
                  ".gz there exists; install Debian's dataset-fashion-mnist package (apt-get "
                  "install dataset-fashion-mnist, which puts the files in "
                  "/usr/share/datasets/fashion-mnist) or pass the directory that holds them");
}

}  // namespace

Dataset load_fashion_mnist(bool train, const fs::path& dir) {
    const std::string prefix = train ? "train" : "t10k";
    const fs::path images_path = find_file(dir, prefix + "-images-idx3-ubyte");
    const fs::path labels_path = find_file(dir, prefix + "-labels-idx1-ubyte");
    Tensor images = read_idx(images_path, f32);
    Tensor labels = read_idx(labels_path, f32);

    const Shape is = images.shape(), ls = labels.shape();
    if (is.size() != 3)
        throw IoError(images_path.string() + ": expected images [N, rows, columns], found " +
                      shape_str(is));
    if (ls.size() != 1 || ls[0] != is[0])
        throw IoError(labels_path.string() + ": expected " + std::to_string(is[0]) +
                      " labels [N] to go with the images " + shape_str(is) + " of " +
                      images_path.string() + ", found " + shape_str(ls));
    const auto& lv = labels.value<float>();
    for (std::size_t i = 0; i < lv.size(); ++i)
        if (!(lv.data()[i] >= 0.0f && lv.data()[i] <= 9.0f))
            throw IoError(labels_path.string() + ": label " +
                          std::to_string(static_cast<long long>(lv.data()[i])) + " of item " +
                          std::to_string(i) + " is not a class 0-9");

    // Pixels 0-255 to [0, 1], in place, flattened row by row to [N, rows · columns].
    auto& x = images.mutable_value<float>();
    x.reshape({is[0], is[1] * is[2]});
    for (float& v : x) v /= 255.0f;
    return {images, labels};
}

}  // namespace tapegrad::data
