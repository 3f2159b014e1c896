// LinePlot: an SVG line chart written by hand (no dependencies). Layout in pixels: the title
// on top, the y tick labels and y label on the left, the x ticks and x label below, the
// legend on the right; the plot area in between maps the axis domains linearly (or in log10).
#include "tapegrad/charts/plot.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include "tapegrad/autodiff/error.hpp"
#include "tapegrad/autodiff/utf8.hpp"
#include "tapegrad/formats/atomic_file.hpp"

namespace tapegrad::charts {

namespace fs = std::filesystem;

namespace {

// matplotlib's tab10: ten colours that stay apart for most kinds of colour blindness.
constexpr const char* kPalette[10] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
// Series 11-20, 21-30, ... reuse the colours with a dash pattern.
constexpr const char* kDashes[3] = {"7 3", "2 2", "8 3 2 3"};
// Larger values are treated as infinite: spans and paddings of them must stay finite.
constexpr double kMaxMagnitude = 1e300;
// Average glyph advance of DejaVu Sans / Helvetica as a fraction of the font size, to leave
// room for text (an estimate: SVG has no text metrics before rendering).
constexpr double kCharWidth = 0.6;
constexpr const char* kFont = "DejaVu Sans, Helvetica, Arial, sans-serif";

// ---- text ----------------------------------------------------------------------------------

// Text for XML content and attributes: the five special characters as entities, control
// characters (not allowed in XML 1.0) as spaces, invalid UTF-8 as U+FFFD.
std::string xml(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    for (std::size_t i = 0; i < s.size();) {
        const unsigned char c = byte(i);
        if (c < 0x80) {
            switch (c) {
                case '&':
                    out += "&amp;";
                    break;
                case '<':
                    out += "&lt;";
                    break;
                case '>':
                    out += "&gt;";
                    break;
                case '"':
                    out += "&quot;";
                    break;
                case '\'':
                    out += "&apos;";
                    break;
                default:
                    out += c < 0x20 ? ' ' : static_cast<char>(c);
            }
            ++i;
            continue;
        }
        const std::size_t len = utf8_length(s, i);  // 0: not a well-formed character
        bool ok = len > 0;
        // U+FFFE and U+FFFF are not XML characters either.
        if (ok && len == 3 && c == 0xEF && byte(i + 1) == 0xBF && byte(i + 2) >= 0xBE) ok = false;
        if (ok) {
            out.append(s.substr(i, len));
            i += len;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    return out;
}

// Characters (code points, roughly glyphs) in UTF-8 text.
std::size_t glyphs(std::string_view s) {
    return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char ch) {
        return (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
    }));
}

double text_width(std::string_view s, double font_size) {
    return static_cast<double>(glyphs(s)) * kCharWidth * font_size;
}

// The first max_glyphs characters of s, ending in an ellipsis when something was cut.
std::string shorten(const std::string& s, std::size_t max_glyphs) {
    if (glyphs(s) <= max_glyphs) return s;
    std::size_t kept = 0, i = 0;
    const std::size_t keep = max_glyphs > 0 ? max_glyphs - 1 : 0;
    for (; i < s.size(); ++i) {
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && kept++ == keep) break;
    }
    return s.substr(0, i) + "\xE2\x80\xA6";
}

// A pixel coordinate: two decimals are below what any screen shows.
std::string px(double v) {
    if (std::abs(v) < 0.005) return "0";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
}

std::string printf_str(const char* format, int precision, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, precision, v);
    return buf;
}

// ---- axes ----------------------------------------------------------------------------------

struct Tick {
    double value;  // in axis units (log10 of the value on a log axis)
    std::string label;
};

struct Axis {
    bool log = false;
    double d0 = 0, d1 = 1;  // domain in axis units
    double p0 = 0, p1 = 1;  // pixels of d0 and d1 (p1 < p0 for the y axis)
    std::vector<Tick> major;
    std::vector<double> minor;  // unlabelled ticks, axis units

    bool drawable(double v) const {
        return std::isfinite(v) && std::abs(v) <= kMaxMagnitude && (!log || v > 0);
    }
    double unit(double v) const { return log ? std::log10(v) : v; }
    double pixel_of_unit(double u) const { return p0 + (u - d0) / (d1 - d0) * (p1 - p0); }
    double pixel(double v) const { return pixel_of_unit(unit(v)); }
    double length() const { return std::abs(p1 - p0); }
};

// The domain [d0, d1] in axis units around the data's [lo, hi], with a 4% margin so that no
// line runs along the frame. A single value is widened (no division by a zero span).
void set_domain(Axis& a, bool any, double lo, double hi) {
    if (!any) {
        a.d0 = 0;  // [0, 1], or [1, 10] on a log axis
        a.d1 = 1;
        return;
    }
    const double scale = a.log ? 1.0 : std::max(std::abs(lo), std::abs(hi));
    if (hi - lo <= 1e-9 * scale) {
        const double mid = lo / 2 + hi / 2;
        const double half = a.log ? 0.5 : (mid == 0 ? 1.0 : 0.1 * std::abs(mid));
        lo = mid - half;
        hi = mid + half;
    }
    const double pad = 0.04 * (hi - lo);
    a.d0 = lo - pad;
    a.d1 = hi + pad;
}

// 1-2-5 steps m * 10^e: the one nearest to raw (by ratio), and the next coarser one.
struct Step {
    int m;  // 1, 2 or 5
    int e;
    double value() const { return m * std::pow(10.0, e); }
    Step coarser() const { return m == 1 ? Step{2, e} : m == 2 ? Step{5, e} : Step{1, e + 1}; }
};

Step nice_step(double raw) {
    const int e = static_cast<int>(std::floor(std::log10(raw)));
    Step best{1, e};
    for (Step s : {Step{2, e}, Step{5, e}, Step{1, e + 1}}) {
        if (std::abs(std::log(s.value() / raw)) < std::abs(std::log(best.value() / raw))) best = s;
    }
    return best;
}

// Labels for values on a 1-2-5 grid of step m * 10^e: fixed decimals (as many as the step
// needs: 0.2 -> "0.4"), or scientific for very small steps or large values ("2.0e-07").
std::vector<std::string> linear_labels(const std::vector<double>& values, Step step) {
    double biggest = 0;
    for (double v : values) biggest = std::max(biggest, std::abs(v));
    std::vector<std::string> out;
    const bool sci = step.e < -4 || biggest >= 1e6;
    const int top = biggest > 0 ? static_cast<int>(std::floor(std::log10(biggest))) : step.e;
    for (double v : values) {
        if (v == 0) {
            out.push_back(sci ? "0" : printf_str("%.*f", std::max(0, -step.e), 0.0));
        } else if (sci) {
            out.push_back(printf_str("%.*e", std::max(0, top - step.e), v));
        } else {
            out.push_back(printf_str("%.*f", std::max(0, -step.e), v));
        }
    }
    return out;
}

// Multiples of the step inside [d0, d1]; none when there would be too many to be useful.
std::vector<double> multiples(double d0, double d1, double step) {
    const double k0 = std::ceil(d0 / step - 1e-9), k1 = std::floor(d1 / step + 1e-9);
    std::vector<double> out;
    if (!(k1 - k0 < 200)) return out;
    for (double k = k0; k <= k1; ++k) {
        double v = k * step;
        if (std::abs(v) < 1e-9 * step) v = 0;  // no "-0.0"
        out.push_back(v);
    }
    return out;
}

// Ticks at 1-2-5 steps of the values in [v0, v1], aiming for one label per `spacing` pixels
// and taking coarser steps until neighbouring labels are 8 pixels apart. On a log axis
// (log_values) the values are placed at their log10, so the gaps are uneven.
std::vector<Tick> linear_ticks(double v0, double v1, double axis_px, double spacing,
                               double font_size, bool horizontal, bool log_values) {
    const auto unit = [&](double v) { return log_values ? std::log10(v) : v; };
    const double unit_span = unit(v1) - unit(v0);
    const double target = std::clamp(axis_px / spacing, 4.0, 12.0);
    Step step = nice_step((v1 - v0) / target);
    std::vector<Tick> best;
    for (int attempt = 0; attempt < 8; ++attempt, step = step.coarser()) {
        std::vector<double> vs = multiples(v0, v1, step.value());
        if (log_values) std::erase_if(vs, [](double v) { return !(v > 0); });
        if (vs.size() < 2 && !best.empty()) break;  // coarser would leave less than two
        const std::vector<std::string> labels = linear_labels(vs, step);
        std::vector<Tick> ticks;
        double widest = 0;
        for (std::size_t i = 0; i < vs.size(); ++i) {
            ticks.push_back({unit(vs[i]), labels[i]});
            widest = std::max(widest, horizontal ? text_width(labels[i], font_size) : font_size);
        }
        best = std::move(ticks);
        double closest = axis_px;  // pixels between the nearest two labels
        for (std::size_t i = 1; i < best.size(); ++i) {
            closest = std::min(closest, (best[i].value - best[i - 1].value) / unit_span * axis_px);
        }
        if (closest >= widest + 8) break;
    }
    return best;
}

std::string g_label(double v) {
    return printf_str("%.*g", 6, v);
}

// Decades (labelled, every stride-th when there are many) with 2..9 times each decade as
// unlabelled minor ticks; less than two decades in view falls back to 1-2-5 values or, for a
// narrower range, to linear steps between the values.
void log_ticks(Axis& a, double axis_px, double spacing, double font_size, bool horizontal) {
    const double k0 = std::ceil(a.d0 - 1e-9), k1 = std::floor(a.d1 + 1e-9);
    const double decades = k1 - k0 + 1;
    if (decades >= 2) {
        // Decade labels are short and evenly spaced: they can sit closer than linear ones.
        const double target = std::clamp(axis_px / (0.6 * spacing), 3.0, 12.0);
        // Every stride-th decade labelled, the stride a 1-2-5 number (1e-100, 1e-50, 1, ...).
        double stride = 1;
        for (Step st{1, 0}; stride < decades / target; st = st.coarser()) stride = st.value();
        const double decade_px = axis_px / (a.d1 - a.d0);
        for (double k = k0; k <= k1; ++k) {
            if (std::fmod(std::abs(k), stride) == 0) {
                a.major.push_back({k, g_label(std::pow(10.0, k))});
            } else if (decade_px >= 4) {  // closer, the minor ticks would smear into a bar
                a.minor.push_back(k);
            }
        }
        if (stride == 1 && decade_px >= 40) {
            for (double k = k0 - 1; k <= k1; ++k) {
                for (int m = 2; m <= 9; ++m) {
                    const double u = k + std::log10(m);
                    if (u >= a.d0 && u <= a.d1) a.minor.push_back(u);
                }
            }
        }
        // Long labels ("1e-06") side by side on a short x axis: keep every other one.
        if (horizontal) {
            double widest = 0;
            for (const Tick& t : a.major) widest = std::max(widest, text_width(t.label, font_size));
            const double gap = stride / (a.d1 - a.d0) * axis_px;
            if (gap < widest + 8 && a.major.size() > 2) {
                std::vector<Tick> kept;
                for (std::size_t i = 0; i < a.major.size(); ++i) {
                    if (i % 2 == 0)
                        kept.push_back(a.major[i]);
                    else
                        a.minor.push_back(a.major[i].value);
                }
                a.major = std::move(kept);
            }
        }
        return;
    }
    std::vector<Tick> ones_twos_fives;
    for (double k = std::floor(a.d0) - 1; k <= std::ceil(a.d1) + 1; ++k) {
        for (int m : {1, 2, 5}) {
            const double u = k + std::log10(m);
            if (u >= a.d0 - 1e-9 && u <= a.d1 + 1e-9) {
                ones_twos_fives.push_back({u, g_label(m * std::pow(10.0, k))});
            }
        }
    }
    if (ones_twos_fives.size() >= 3) {
        a.major = std::move(ones_twos_fives);
    } else {
        a.major = linear_ticks(std::pow(10.0, a.d0), std::pow(10.0, a.d1), axis_px, spacing,
                               font_size, horizontal, true);
    }
    for (double k = std::floor(a.d0); k <= std::ceil(a.d1); ++k) {
        for (int m = 1; m <= 9; ++m) {
            const double u = k + std::log10(m);
            if (u >= a.d0 && u <= a.d1) a.minor.push_back(u);
        }
    }
}

void make_ticks(Axis& a, double spacing, double font_size, bool horizontal) {
    if (a.log) {
        log_ticks(a, a.length(), spacing, font_size, horizontal);
    } else {
        a.major = linear_ticks(a.d0, a.d1, a.length(), spacing, font_size, horizontal, false);
    }
}

// ---- SVG -----------------------------------------------------------------------------------

class Svg {
  public:
    void raw(std::string_view s) { out_ += s; }
    void line(double x1, double y1, double x2, double y2, const std::string& attrs) {
        out_ += "<line x1=\"" + px(x1) + "\" y1=\"" + px(y1) + "\" x2=\"" + px(x2) + "\" y2=\"" +
                px(y2) + "\" " + attrs + "/>\n";
    }
    void rect(double x, double y, double w, double h, const std::string& attrs) {
        out_ += "<rect x=\"" + px(x) + "\" y=\"" + px(y) + "\" width=\"" + px(w) + "\" height=\"" +
                px(h) + "\" " + attrs + "/>\n";
    }
    // text is raw UTF-8; it is escaped here.
    void text(double x, double y, std::string_view text, const std::string& attrs) {
        out_ += "<text x=\"" + px(x) + "\" y=\"" + px(y) + "\" " + attrs + ">" + xml(text) +
                "</text>\n";
    }
    std::string take() { return std::move(out_); }

  private:
    std::string out_;
};

constexpr double kTickFont = 11, kLabelFont = 13, kTitleFont = 16, kLegendFont = 12;
constexpr double kLegendRow = 18;

}  // namespace

LinePlot::LinePlot(std::string title, std::string x_label, std::string y_label)
    : title_(std::move(title)), x_label_(std::move(x_label)), y_label_(std::move(y_label)) {}

LinePlot& LinePlot::add(std::string name, std::vector<double> x, std::vector<double> y) {
    if (x.size() != y.size()) {
        throw ShapeError("LinePlot::add: series '" + name + "' has " + std::to_string(x.size()) +
                         " x values and " + std::to_string(y.size()) + " y values");
    }
    series_.push_back({std::move(name), std::move(x), std::move(y)});
    return *this;
}

LinePlot& LinePlot::log_x(bool on) {
    log_x_ = on;
    return *this;
}

LinePlot& LinePlot::log_y(bool on) {
    log_y_ = on;
    return *this;
}

LinePlot& LinePlot::mark_x(double x, std::string label) {
    marks_.emplace_back(x, std::move(label));
    return *this;
}

LinePlot& LinePlot::markers(bool line) {
    if (series_.empty()) throw ValueError("LinePlot::markers: add a series first");
    series_.back().dots = true;
    series_.back().line = line;
    return *this;
}

LinePlot& LinePlot::add_contours(const std::vector<double>& xs, const std::vector<double>& ys,
                                 const std::vector<std::vector<double>>& z,
                                 const std::vector<double>& levels) {
    std::vector<Polyline> lines;
    for (double level : levels) {
        for (Polyline& line : contour_lines(xs, ys, z, level)) lines.push_back(std::move(line));
    }
    for (Polyline& line : lines) contours_.push_back(std::move(line));  // all or nothing
    return *this;
}

LinePlot& LinePlot::mark_point(double x, double y, std::string label) {
    point_marks_.push_back({x, y, std::move(label)});
    return *this;
}

// svg()'s work: the axes' domains from what will be drawn, the layout in pixels (the y ticks
// set the left margin, the legend the right one), then the layers from the bottom up.
class LinePlot::Drawing {
  public:
    Drawing(const LinePlot& plot, int width, int height)
        : p_(plot), width_(width), height_(height), W_(width), H_(height) {
        ax_.log = p_.log_x_;
        ay_.log = p_.log_y_;
        fit_domains();
        lay_out_y();
        lay_out_legend_and_x();
    }

    std::string svg() {
        write_header();
        draw_grid();
        draw_contours();
        for (std::size_t i = 0; i < p_.series_.size(); ++i) draw_series(i);
        draw_marks();
        draw_point_marks();
        draw_frame_and_ticks();
        draw_legend();
        draw_labels();
        out_.raw("</svg>\n");
        return out_.take();
    }

  private:
    // The domains span the points that will be drawn (and the marks, for x).
    void fit_domains() {
        for (const Series& s : p_.series_) {
            for (std::size_t i = 0; i < s.x.size(); ++i) {
                if (!ax_.drawable(s.x[i]) || !ay_.drawable(s.y[i])) continue;
                grow_x(ax_.unit(s.x[i]));
                grow_y(ay_.unit(s.y[i]));
            }
        }
        for (const auto& [x, label] : p_.marks_) {
            if (ax_.drawable(x)) grow_x(ax_.unit(x));
        }
        // Contour lines and point marks widen both axes, as series points do.
        for (const Polyline& line : p_.contours_) {
            for (const auto& [x, y] : line) grow_xy(x, y);
        }
        for (const PointMark& m : p_.point_marks_) grow_xy(m.x, m.y);
        set_domain(ax_, any_x_, xlo_, xhi_);
        set_domain(ay_, any_y_, ylo_, yhi_);
    }
    void grow_x(double u) {
        xlo_ = any_x_ ? std::min(xlo_, u) : u;
        xhi_ = any_x_ ? std::max(xhi_, u) : u;
        any_x_ = true;
    }
    void grow_y(double u) {
        ylo_ = any_y_ ? std::min(ylo_, u) : u;
        yhi_ = any_y_ ? std::max(yhi_, u) : u;
        any_y_ = true;
    }
    void grow_xy(double x, double y) {
        if (!ax_.drawable(x) || !ay_.drawable(y)) return;
        grow_x(ax_.unit(x));
        grow_y(ay_.unit(y));
    }

    // Vertical layout first: the y ticks depend on the plot's height only.
    void lay_out_y() {
        const double top = p_.title_.empty() ? 16 : 42;
        const double bottom = p_.x_label_.empty() ? 30 : 52;
        ay_.p0 = H_ - bottom;
        ay_.p1 = top;
        make_ticks(ay_, 48, kTickFont, false);
    }

    // The legend: one row per named series, names cut to fit a quarter of the width. What is
    // left between the y ticks and the legend is the x axis.
    void lay_out_legend_and_x() {
        double ytick_w = 0;
        for (const Tick& t : ay_.major) ytick_w = std::max(ytick_w, text_width(t.label, kTickFont));
        const double left = 12 + (p_.y_label_.empty() ? 0 : 22) + ytick_w + 9;
        for (std::size_t i = 0; i < p_.series_.size(); ++i) {
            if (!p_.series_[i].name.empty()) named_.push_back(i);
        }
        // Wider than kCharWidth: a short name of wide letters ("many") must still fit the box.
        const double char_w = 0.65 * kLegendFont;
        max_chars_ = static_cast<std::size_t>(std::max(4.0, (0.28 * W_ - 50) / char_w));
        std::size_t legend_chars = 0;
        for (std::size_t i : named_) {
            legend_chars = std::max(legend_chars, std::min(glyphs(p_.series_[i].name), max_chars_));
        }
        legend_w_ = named_.empty() ? 0 : 48 + static_cast<double>(legend_chars) * char_w;
        const double right = named_.empty() ? 24 : legend_w_ + 28;
        ax_.p0 = left;
        ax_.p1 = W_ - right;
        make_ticks(ax_, 75, kTickFont, true);
        pl_ = ax_.p0, pr_ = ax_.p1, pt_ = ay_.p1, pb_ = ay_.p0;
    }

    void write_header() {
        const std::string w = std::to_string(width_), h = std::to_string(height_);
        out_.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        out_.raw("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + w + "\" height=\"" + h +
                 "\" viewBox=\"0 0 " + w + " " + h + "\" font-family=\"" + kFont + "\">\n");
        if (!p_.title_.empty()) out_.raw("<title>" + xml(p_.title_) + "</title>\n");
        out_.rect(0, 0, W_, H_, "fill=\"white\"");
    }

    // Grid at the major ticks, under everything else.
    void draw_grid() {
        out_.raw("<g class=\"grid\" stroke=\"#e6e6e6\" stroke-width=\"1\">\n");
        for (const Tick& t : ax_.major) {
            const double x = ax_.pixel_of_unit(t.value);
            out_.line(x, pt_, x, pb_, "");
        }
        for (const Tick& t : ay_.major) {
            const double y = ay_.pixel_of_unit(t.value);
            out_.line(pl_, y, pr_, y, "");
        }
        out_.raw("</g>\n");
    }

    // A line in pixels, cut into runs of consecutive points that can be drawn.
    std::vector<Polyline> visible_runs(const Polyline& line) const {
        std::vector<Polyline> runs(1);
        for (const auto& [dx, dy] : line) {
            const bool ok = ax_.drawable(dx) && ay_.drawable(dy);
            const double x = ok ? ax_.pixel(dx) : 0, y = ok ? ay_.pixel(dy) : 0;
            // The domain holds every drawable point; the bounds check is a last guard.
            if (ok && std::isfinite(x) && std::isfinite(y) && x >= pl_ - 1 && x <= pr_ + 1 &&
                y >= pt_ - 1 && y <= pb_ + 1) {
                runs.back().emplace_back(x, y);
            } else if (!runs.back().empty()) {
                runs.emplace_back();
            }
        }
        if (runs.back().empty()) runs.pop_back();
        return runs;
    }
    void polyline(const Polyline& run) {
        std::string pts;
        for (const auto& [x, y] : run) pts += px(x) + "," + px(y) + " ";
        pts.pop_back();
        out_.raw("<polyline points=\"" + pts + "\"/>\n");
    }
    void dot(double x, double y, const char* r, const std::string& colour) {
        out_.raw("<circle cx=\"" + px(x) + "\" cy=\"" + px(y) + "\" r=\"" + r + "\" fill=\"" +
                 colour + "\" stroke=\"none\"/>\n");
    }

    // Contour lines: thin and light, under the series.
    void draw_contours() {
        if (p_.contours_.empty()) return;
        out_.raw("<g class=\"contour\" fill=\"none\" stroke=\"#c8c8c8\" stroke-width=\"1\">\n");
        for (const Polyline& line : p_.contours_) {
            for (const Polyline& run : visible_runs(line))
                if (run.size() > 1) polyline(run);
        }
        out_.raw("</g>\n");
    }

    // A series: runs of drawable points as polylines, a lone point as a dot; markers() adds a
    // dot at every point, over the line.
    void draw_series(std::size_t i) {
        const Series& s = p_.series_[i];
        const std::string colour = kPalette[i % 10];
        std::string attrs = "class=\"series\" fill=\"none\" stroke=\"" + colour +
                            "\" stroke-width=\"1.8\" stroke-linejoin=\"round\" "
                            "stroke-linecap=\"round\"";
        if (i >= 10)
            attrs += std::string(" stroke-dasharray=\"") + kDashes[(i / 10 - 1) % 3] + "\"";
        out_.raw("<g " + attrs + ">\n");
        if (!s.name.empty()) out_.raw("<title>" + xml(s.name) + "</title>\n");
        Polyline points;
        for (std::size_t k = 0; k < s.x.size(); ++k) points.emplace_back(s.x[k], s.y[k]);
        for (const Polyline& run : visible_runs(points)) {
            if (run.size() == 1 && !s.dots) {
                dot(run[0].first, run[0].second, "2.5", colour);
            } else if (run.size() > 1 && s.line) {
                polyline(run);
            }
            if (s.dots) {
                for (const auto& [x, y] : run) dot(x, y, "3", colour);
            }
        }
        out_.raw("</g>\n");
    }

    // Marks: a dashed vertical line; the label at its top, on the side with more room, and
    // stacked when there are several.
    void draw_marks() {
        std::size_t shown = 0;
        for (const auto& [mx, label] : p_.marks_) {
            if (!ax_.drawable(mx)) continue;
            const double x = ax_.pixel(mx);
            if (!std::isfinite(x)) continue;
            out_.line(x, pt_, x, pb_,
                      "class=\"mark\" stroke=\"#444444\" stroke-width=\"1.2\" "
                      "stroke-dasharray=\"5 4\"");
            const bool left_side = x > pl_ + 0.6 * (pr_ - pl_);
            const double y = pt_ + 14 + 15 * static_cast<double>(shown % 8);
            out_.text(left_side ? x - 5 : x + 5, y, label, halo_label("mark-label", left_side));
            ++shown;
        }
    }

    // Point marks: a ring on top of the series, the label to its upper right (upper left
    // near the right edge), with a white halo so that lines under it stay readable.
    void draw_point_marks() {
        for (const PointMark& m : p_.point_marks_) {
            if (!ax_.drawable(m.x) || !ay_.drawable(m.y)) continue;
            const double x = ax_.pixel(m.x), y = ay_.pixel(m.y);
            if (!std::isfinite(x) || !std::isfinite(y)) continue;
            out_.raw("<circle class=\"point-mark\" cx=\"" + px(x) + "\" cy=\"" + px(y) +
                     "\" r=\"4\" fill=\"white\" stroke=\"#222222\" stroke-width=\"1.8\"/>\n");
            if (m.label.empty()) continue;
            const bool left_side = x > pl_ + 0.75 * (pr_ - pl_);
            out_.text(left_side ? x - 7 : x + 7, y - 7, m.label,
                      halo_label("point-label", left_side));
        }
    }
    static std::string halo_label(const char* cls, bool left_side) {
        return std::string("class=\"") + cls +
               "\" font-size=\"11\" fill=\"#222222\" stroke=\"white\" stroke-width=\"3\" "
               "paint-order=\"stroke\" text-anchor=\"" +
               (left_side ? "end" : "start") + "\"";
    }

    void draw_frame_and_ticks() {
        out_.rect(pl_, pt_, pr_ - pl_, pb_ - pt_,
                  "fill=\"none\" stroke=\"#333333\" stroke-width=\"1\"");
        out_.raw("<g stroke=\"#333333\" stroke-width=\"1\">\n");
        for (const Tick& t : ax_.major)
            out_.line(ax_.pixel_of_unit(t.value), pb_, ax_.pixel_of_unit(t.value), pb_ + 5, "");
        for (double u : ax_.minor)
            out_.line(ax_.pixel_of_unit(u), pb_, ax_.pixel_of_unit(u), pb_ + 3, "");
        for (const Tick& t : ay_.major)
            out_.line(pl_ - 5, ay_.pixel_of_unit(t.value), pl_, ay_.pixel_of_unit(t.value), "");
        for (double u : ay_.minor)
            out_.line(pl_ - 3, ay_.pixel_of_unit(u), pl_, ay_.pixel_of_unit(u), "");
        out_.raw("</g>\n");
        for (const Tick& t : ax_.major) {
            out_.text(ax_.pixel_of_unit(t.value), pb_ + 18, t.label,
                      "class=\"xtick\" font-size=\"11\" fill=\"#333333\" text-anchor=\"middle\"");
        }
        for (const Tick& t : ay_.major) {
            out_.text(pl_ - 8, ay_.pixel_of_unit(t.value) + 4, t.label,
                      "class=\"ytick\" font-size=\"11\" fill=\"#333333\" text-anchor=\"end\"");
        }
    }

    // Legend, right of the plot; rows that do not fit become "+ k more".
    void draw_legend() {
        if (named_.empty()) return;
        const auto fit = static_cast<std::size_t>(std::max(1.0, (pb_ - pt_ - 10) / kLegendRow));
        const std::size_t rows = std::min(named_.size(), fit);
        const bool cut = rows < named_.size();
        const double lx = pr_ + 16, ly = pt_;
        out_.raw("<g class=\"legend\">\n");
        out_.rect(lx, ly, legend_w_, static_cast<double>(rows) * kLegendRow + 10,
                  "fill=\"white\" stroke=\"#cccccc\" stroke-width=\"1\"");
        for (std::size_t r = 0; r < rows; ++r) {
            const double y = ly + 5 + kLegendRow * (static_cast<double>(r) + 0.5);
            if (cut && r + 1 == rows) {
                out_.text(lx + 10, y + 4, "+ " + std::to_string(named_.size() - rows + 1) + " more",
                          "font-size=\"12\" fill=\"#555555\"");
                break;
            }
            legend_row(named_[r], lx, y);
        }
        out_.raw("</g>\n");
    }
    void legend_row(std::size_t i, double lx, double y) {
        std::string attrs = std::string("stroke=\"") + kPalette[i % 10] +
                            "\" stroke-width=\"2.5\" stroke-linecap=\"round\"";
        if (i >= 10)
            attrs += std::string(" stroke-dasharray=\"") + kDashes[(i / 10 - 1) % 3] + "\"";
        if (p_.series_[i].line) out_.line(lx + 10, y, lx + 32, y, attrs);
        if (p_.series_[i].dots) dot(lx + 21, y, "3.5", kPalette[i % 10]);
        out_.text(lx + 40, y + 4, shorten(p_.series_[i].name, max_chars_),
                  "class=\"legend-name\" font-size=\"12\" fill=\"#222222\"");
    }

    // Title and axis labels, cut with an ellipsis when wider than the picture.
    void draw_labels() {
        auto fitting = [](const std::string& s, double room, double font) {
            return shorten(s, static_cast<std::size_t>(std::max(1.0, room / (kCharWidth * font))));
        };
        if (!p_.title_.empty()) {
            out_.text(W_ / 2, 27, fitting(p_.title_, W_ - 20, kTitleFont),
                      "class=\"title\" font-size=\"16\" font-weight=\"bold\" fill=\"#111111\" "
                      "text-anchor=\"middle\"");
        }
        if (!p_.x_label_.empty()) {
            out_.text((pl_ + pr_) / 2, H_ - 12, fitting(p_.x_label_, pr_ - pl_, kLabelFont),
                      "class=\"xlabel\" font-size=\"13\" fill=\"#111111\" text-anchor=\"middle\"");
        }
        if (!p_.y_label_.empty()) {
            const double x = 12 + kLabelFont, y = (pt_ + pb_) / 2;
            out_.raw("<text x=\"" + px(x) + "\" y=\"" + px(y) + "\" transform=\"rotate(-90 " +
                     px(x) + " " + px(y) +
                     ")\" class=\"ylabel\" font-size=\"13\" fill=\"#111111\" "
                     "text-anchor=\"middle\">" +
                     xml(fitting(p_.y_label_, pb_ - pt_, kLabelFont)) + "</text>\n");
        }
    }

    const LinePlot& p_;
    int width_, height_;
    double W_, H_;
    Axis ax_, ay_;
    bool any_x_ = false, any_y_ = false;
    double xlo_ = 0, xhi_ = 0, ylo_ = 0, yhi_ = 0;
    std::vector<std::size_t> named_;  // the series with a legend row
    std::size_t max_chars_ = 0;       // of a name in the legend
    double legend_w_ = 0;
    double pl_ = 0, pr_ = 0, pt_ = 0, pb_ = 0;  // the plot area's left, right, top, bottom
    Svg out_;
};

std::string LinePlot::svg(int width, int height) const {
    if (width < 240 || height < 160 || width > 100000 || height > 100000) {
        throw ValueError("LinePlot::svg: a chart of " + std::to_string(width) + " x " +
                         std::to_string(height) +
                         " pixels; it needs at least 240 x 160 and at most 100000 x 100000");
    }
    return Drawing(*this, width, height).svg();
}

void LinePlot::save(const fs::path& path, int width, int height) const {
    formats::write_file_atomically(path, svg(width, height));
}

// ---- contour lines (marching squares) ---------------------------------------------------

namespace {

void check_grid_axis(const std::vector<double>& v, const char* name) {
    if (v.size() < 2) {
        throw ValueError(std::string("contour_lines: ") + name + " has " +
                         std::to_string(v.size()) + " values; it needs at least 2");
    }
    for (std::size_t i = 1; i < v.size(); ++i) {
        if (!(v[i] > v[i - 1])) {
            throw ValueError(std::string("contour_lines: ") + name +
                             " must increase strictly, but value " + std::to_string(i) +
                             " is not above value " + std::to_string(i - 1));
        }
    }
}

void check_grid(const std::vector<double>& xs, const std::vector<double>& ys,
                const std::vector<std::vector<double>>& z) {
    check_grid_axis(xs, "xs");
    check_grid_axis(ys, "ys");
    if (z.size() != ys.size()) {
        throw ShapeError("contour_lines: z has " + std::to_string(z.size()) + " rows; ys has " +
                         std::to_string(ys.size()) + " values");
    }
    for (std::size_t j = 0; j < ys.size(); ++j) {
        if (z[j].size() != xs.size()) {
            throw ShapeError("contour_lines: row " + std::to_string(j) + " of z has " +
                             std::to_string(z[j].size()) + " values; xs has " +
                             std::to_string(xs.size()));
        }
    }
}

// Each crossing lies on a grid edge and is named by it: the edge from (i, j) to (i + 1, j) is
// 2 (j nx + i), the edge from (i, j) to (i, j + 1) is 2 (j nx + i) + 1. Two cells that share
// an edge share its crossing, which is how segments join into lines.
using EdgeKey = std::size_t;
using Segment = std::pair<EdgeKey, EdgeKey>;

// The segments of the level line in every cell (marching squares).
std::vector<Segment> cell_segments(const std::vector<std::vector<double>>& z, double level) {
    const std::size_t ny = z.size(), nx = z[0].size();
    const auto h_key = [nx](std::size_t i, std::size_t j) { return 2 * (j * nx + i); };
    const auto v_key = [nx](std::size_t i, std::size_t j) { return 2 * (j * nx + i) + 1; };
    std::vector<Segment> segments;
    for (std::size_t j = 0; j + 1 < ny; ++j) {
        for (std::size_t i = 0; i + 1 < nx; ++i) {
            // Corners counter-clockwise from the lower left; edges bottom, right, top, left.
            const double c[4] = {z[j][i], z[j][i + 1], z[j + 1][i + 1], z[j + 1][i]};
            if (std::isnan(c[0]) || std::isnan(c[1]) || std::isnan(c[2]) || std::isnan(c[3]))
                continue;
            const bool up[4] = {c[0] > level, c[1] > level, c[2] > level, c[3] > level};
            const EdgeKey e[4] = {h_key(i, j), v_key(i + 1, j), h_key(i, j + 1), v_key(i, j)};
            // Edge k joins corners k and k + 1 (mod 4); it is crossed when they differ.
            std::vector<int> crossed;
            for (int k = 0; k < 4; ++k)
                if (up[k] != up[(k + 1) % 4]) crossed.push_back(k);
            if (crossed.size() == 2) {
                segments.emplace_back(e[crossed[0]], e[crossed[1]]);
            } else if (crossed.size() == 4) {
                // A saddle: when the centre is on the side of corner 0, corners 0 and 2 are
                // connected through it and the lines cut off corners 1 and 3; else 0 and 2.
                const bool centre_up = (c[0] + c[1] + c[2] + c[3]) / 4 > level;
                if (centre_up == up[0]) {
                    segments.emplace_back(e[0], e[1]);  // around corner 1
                    segments.emplace_back(e[2], e[3]);  // around corner 3
                } else {
                    segments.emplace_back(e[3], e[0]);  // around corner 0
                    segments.emplace_back(e[1], e[2]);  // around corner 2
                }
            }
        }
    }
    return segments;
}

// Chains of segments through shared crossings: every crossing is shared by at most two
// segments (the two cells beside its edge).
std::vector<std::deque<EdgeKey>> join_segments(const std::vector<Segment>& segments) {
    std::multimap<EdgeKey, std::size_t> at;
    for (std::size_t s = 0; s < segments.size(); ++s) {
        at.emplace(segments[s].first, s);
        at.emplace(segments[s].second, s);
    }
    std::vector<bool> used(segments.size(), false);
    const auto next_from = [&](EdgeKey k) -> std::optional<EdgeKey> {
        for (auto [it, end] = at.equal_range(k); it != end; ++it) {
            const std::size_t s = it->second;
            if (used[s]) continue;
            used[s] = true;
            return segments[s].first == k ? segments[s].second : segments[s].first;
        }
        return std::nullopt;
    };
    std::vector<std::deque<EdgeKey>> chains;
    for (std::size_t s = 0; s < segments.size(); ++s) {
        if (used[s]) continue;
        used[s] = true;
        std::deque<EdgeKey> chain{segments[s].first, segments[s].second};
        while (auto k = next_from(chain.back())) chain.push_back(*k);
        while (auto k = next_from(chain.front())) chain.push_front(*k);
        chains.push_back(std::move(chain));
    }
    return chains;
}

}  // namespace

std::vector<Polyline> contour_lines(const std::vector<double>& xs, const std::vector<double>& ys,
                                    const std::vector<std::vector<double>>& z, double level) {
    check_grid(xs, ys, z);
    const std::size_t nx = xs.size();
    // The crossing on an edge, placed by linear interpolation between the edge's two values.
    const auto point_of = [&](EdgeKey k) {
        const std::size_t cell = k / 2, i = cell % nx, j = cell / nx;
        const std::size_t i1 = k % 2 == 0 ? i + 1 : i, j1 = k % 2 == 0 ? j : j + 1;
        const double za = z[j][i], zb = z[j1][i1];
        const double t = (level - za) / (zb - za);  // za and zb lie on either side of level
        return std::pair<double, double>{xs[i] + t * (xs[i1] - xs[i]),
                                         ys[j] + t * (ys[j1] - ys[j])};
    };
    std::vector<Polyline> lines;
    for (const auto& chain : join_segments(cell_segments(z, level))) {
        Polyline line;
        line.reserve(chain.size());
        for (EdgeKey k : chain) line.push_back(point_of(k));
        lines.push_back(std::move(line));
    }
    return lines;
}

}  // namespace tapegrad::charts
