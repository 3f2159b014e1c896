#include "model_file.hpp"

#include <nlohmann/json.hpp>

#include <tapegrad/autodiff/error.hpp>
#include <tapegrad/formats/npz.hpp>
#include <tapegrad/nn/serialize.hpp>

#include "model_spec.hpp"

namespace tapegrad::cli {

namespace {

using nlohmann::json;

const std::string kPrefix(nn::kReservedPrefix);
const std::string kDescriptionEntry = kPrefix + "model";
const std::string kFeatureScaler = kPrefix + "feature_scaler.";
const std::string kTargetScaler = kPrefix + "target_scaler.";
// What the "format" field holds, so that a JSON text of another program is not taken for one.
constexpr const char* kFormatName = "tapegrad model";

const char* scaler_kind(const data::StandardScaler& s) {
    return s.fitted() ? "standard" : "none";
}

// In the order a reader wants them (ordered_json keeps it; json would sort the keys).
nlohmann::ordered_json to_json(const ModelDescription& d) {
    return {{"format", kFormatName},
            {"format_version", kModelFormatVersion},
            {"task", d.classify ? "classify" : "regress"},
            {"model", d.model},
            {"activation", d.activation},
            {"features", d.features},
            {"target", d.target},
            {"classes", d.classes},
            {"feature_scaler", scaler_kind(d.feature_scaler)},
            {"target_scaler", scaler_kind(d.target_scaler)}};
}

// Reads the description's fields, each checked; IoError "FILE: ..." for anything wrong.
class Reader {
  public:
    Reader(std::string file, const json& j) : file_(std::move(file)), j_(j) {}

    [[noreturn]] void fail(const std::string& what) const {
        throw IoError(file_ + ": " + kDescriptionEntry + ": " + what);
    }
    template <class T>
    T get(const std::string& key) const {
        if (!j_.contains(key)) fail("the field '" + key + "' is missing");
        try {
            return j_.at(key).get<T>();
        } catch (const json::exception&) {
            fail("the field '" + key + "' has the wrong type: " + j_.at(key).dump());
        }
    }
    std::string one_of(const std::string& key, const std::string& a, const std::string& b) const {
        const auto v = get<std::string>(key);
        if (v != a && v != b) fail("the field '" + key + "' is '" + v + "', not " + a + " or " + b);
        return v;
    }

  private:
    std::string file_;
    const json& j_;
};

// The JSON text of the description entry; IoError when the file is not a tapegrad model.
json description_json(const std::string& file, const StateDict& entries) {
    const auto it = entries.find(kDescriptionEntry);
    if (it == entries.end()) {
        throw IoError(file + ": not a tapegrad model file: it has no '" + kDescriptionEntry +
                      "' entry (`tapegrad train --save` writes model files; a file of weights "
                      "only loads with nn::load into a model built in code)");
    }
    json j;
    try {
        j = json::parse(formats::text_of(it->second));
    } catch (const std::exception& e) {
        throw IoError(file + ": not a tapegrad model file: '" + kDescriptionEntry +
                      "' is not JSON text (" + e.what() + ")");
    }
    if (!j.is_object())
        throw IoError(file + ": not a tapegrad model file: '" + kDescriptionEntry +
                      "' is not a JSON object");
    return j;
}

void check_version(const Reader& r, const json& j) {
    if (!j.contains("format") || j["format"] != kFormatName)
        r.fail("not a tapegrad model description (no \"format\": \"" + std::string(kFormatName) +
               "\")");
    const int version = r.get<int>("format_version");
    if (version < 1 || version > kModelFormatVersion) {
        r.fail("format version " + std::to_string(version) + " is not one this tapegrad reads " +
               "(it reads versions 1 to " + std::to_string(kModelFormatVersion) +
               "); a newer tapegrad wrote it?");
    }
}

// A scaler stored as arrays under prefix ("standard"), or none; IoError when the arrays do
// not match the description.
data::StandardScaler read_scaler(const Reader& r, const std::string& field,
                                 const StateDict& entries, const std::string& prefix,
                                 std::size_t columns) {
    data::StandardScaler scaler;
    if (r.one_of(field, "standard", "none") == "none") return scaler;
    StateDict state;
    for (const char* key : {"mean", "scale"}) {
        const auto it = entries.find(prefix + key);
        if (it == entries.end()) r.fail(field + " is standard but the file has no " + prefix + key);
        if (it->second.shape() != Shape{columns})
            r.fail(prefix + key + " has shape " + shape_str(it->second.shape()) + ", expected [" +
                   std::to_string(columns) + "]");
        state[key] = it->second;
    }
    scaler.load_state_dict(state);
    return scaler;
}

ModelDescription read_description(const std::string& file, const StateDict& entries) {
    const json j = description_json(file, entries);
    const Reader r(file, j);
    check_version(r, j);
    ModelDescription d;
    d.classify = r.one_of("task", "classify", "regress") == "classify";
    d.model = r.get<std::string>("model");
    d.activation = r.get<std::string>("activation");
    d.features = r.get<std::vector<std::string>>("features");
    d.target = r.get<std::string>("target");
    d.classes = r.get<std::vector<double>>("classes");
    if (d.features.empty()) r.fail("the model has no features");
    if (d.classify && d.classes.size() < 2) r.fail("a classifier needs at least two classes");
    if (!d.classify && !d.classes.empty()) r.fail("a regression has no classes");
    d.feature_scaler = read_scaler(r, "feature_scaler", entries, kFeatureScaler, d.features.size());
    d.target_scaler = read_scaler(r, "target_scaler", entries, kTargetScaler, 1);
    if (d.classify && d.target_scaler.fitted()) r.fail("a classifier has no target scaler");
    try {
        parse_model_spec(d.model, d.activation);
    } catch (const ValueError& e) {
        r.fail(e.what());  // "--model: ..." names the field as train's flag
    }
    return d;
}

}  // namespace

void save_model_file(const std::filesystem::path& path, const ModelDescription& description,
                     const nn::Module& model) {
    StateDict arrays = model.state_dict();
    const auto add = [&](const std::string& prefix, const data::StandardScaler& scaler) {
        if (!scaler.fitted()) return;
        for (const auto& [key, value] : scaler.state_dict()) arrays[prefix + key] = value;
    };
    add(kFeatureScaler, description.feature_scaler);
    add(kTargetScaler, description.target_scaler);
    formats::save_npz(path, arrays, {{kDescriptionEntry, to_json(description).dump(2) + "\n"}});
}

ModelFile load_model_file(const std::filesystem::path& path) {
    const std::string file = path.string();
    StateDict entries = formats::load_npz(path);
    ModelFile m;
    m.description = read_description(file, entries);
    const ModelDescription& d = m.description;
    try {
        m.model =
            build_model(parse_model_spec(d.model, d.activation), d.features.size(), d.outputs());
        std::erase_if(entries, [](const auto& e) { return e.first.starts_with(kPrefix); });
        m.model->load_state_dict(entries, /*strict=*/true);
    } catch (const ValueError& e) {
        throw IoError(file + ": the weights do not fit the model it describes (" + d.model + ", " +
                      std::to_string(d.features.size()) + " features, " +
                      std::to_string(d.outputs()) + " outputs): " + e.what());
    }
    return m;
}

}  // namespace tapegrad::cli
