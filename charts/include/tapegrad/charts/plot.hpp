#pragma once
// Line charts as SVG files a person can open in a browser: loss curves, LR-finder curves,
// paths of optimizers. Written atomically (a temporary file, then rename); IoError on failure.
//
//   tg::charts::LinePlot("Training", "epoch", "loss")
//       .add("train", epochs, train_loss).add("validation", epochs, val_loss)
//       .log_y().mark_x(best_epoch, "best").save("loss.svg");
//
// The SVG has no dependencies: axes with ticks at 1-2-5 steps (decades on a log axis), light
// grid lines, one colour per series (matplotlib's tab10, dashed after the tenth), a legend
// right of the plot, and every text XML-escaped. The axes span the drawable points (and the
// marks) with a 4% margin; no points at all still gives a valid, empty chart.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace tapegrad::charts {

// A line through points in data coordinates (contour_lines below).
using Polyline = std::vector<std::pair<double, double>>;

class LinePlot {
  public:
    explicit LinePlot(std::string title = "", std::string x_label = "", std::string y_label = "");
    // A named series (an empty name leaves it out of the legend); x and y must have the same
    // length (ShapeError otherwise). NaN and infinite points, values beyond +-1e300, and
    // points <= 0 on a log axis are skipped: the line breaks there (a diverged loss does not
    // break the picture), and a point with no drawn neighbour is a dot. Colours are assigned
    // in order.
    LinePlot& add(std::string name, std::vector<double> x, std::vector<double> y);
    LinePlot& log_x(bool on = true);
    LinePlot& log_y(bool on = true);
    // A vertical dashed marker with a label (a suggested learning rate, the best epoch); the x
    // axis is widened to show it. A non-finite x (or x <= 0 on a log axis) is not drawn.
    LinePlot& mark_x(double x, std::string label);
    // Dots at the drawable points of the last added series (the iterates of an optimizer, data
    // points); line = false leaves out the line through them (a scatter plot), and the legend
    // then shows a dot. ValueError when no series has been added yet.
    LinePlot& markers(bool line = true);
    // Contour lines of a function sampled on a grid (contour_lines below) at each level, drawn
    // thin and light grey under the series: no legend entry, no colour taken from the series.
    // They widen the axes as series do. Throws as contour_lines.
    LinePlot& add_contours(const std::vector<double>& xs, const std::vector<double>& ys,
                           const std::vector<std::vector<double>>& z,
                           const std::vector<double>& levels);
    // A point drawn as a small dark ring with its label beside it (a start, a minimum); the
    // axes are widened to show it. A point that cannot be drawn (non-finite, <= 0 on a log
    // axis) is left out.
    LinePlot& mark_point(double x, double y, std::string label);
    // The SVG document; ValueError when width < 240 or height < 160 pixels (too small for
    // axes, ticks and a legend) or either is above 100000.
    std::string svg(int width = 720, int height = 440) const;
    // Writes svg(width, height) to a temporary file beside path, then renames it over path;
    // IoError naming the path when that fails (the temporary file is removed).
    void save(const std::filesystem::path& path, int width = 720, int height = 440) const;

  private:
    class Drawing;  // svg()'s layout and layers (plot.cpp)
    struct Series {
        std::string name;
        std::vector<double> x, y;
        bool dots = false, line = true;  // markers()
    };
    std::string title_, x_label_, y_label_;
    std::vector<Series> series_;
    std::vector<std::pair<double, std::string>> marks_;
    std::vector<Polyline> contours_;
    struct PointMark {
        double x, y;
        std::string label;
    };
    std::vector<PointMark> point_marks_;
    bool log_x_ = false, log_y_ = false;
};

// The lines where a function sampled on a grid equals level, by marching squares. z[j][i] is
// the value at (xs[i], ys[j]); xs and ys increase strictly. A crossing is placed on a cell edge
// by linear interpolation between the edge's two values (a corner counts as above the level
// when z > level); a saddle cell (corners above and below alternating) is split by the mean of
// its four corners; a cell with a NaN corner has no lines. Segments are joined into polylines
// through shared edge crossings, so a closed line ends at its first point.
// ValueError when xs or ys has fewer than two values or does not increase strictly;
// ShapeError when z is not ys.size() rows of xs.size() values.
std::vector<Polyline> contour_lines(const std::vector<double>& xs, const std::vector<double>& ys,
                                    const std::vector<std::vector<double>>& z, double level);

}  // namespace tapegrad::charts
