// Contour lines (charts::contour_lines, marching squares) and what LinePlot draws with them:
// add_contours (light lines under the series, no legend entry, no colour taken) and mark_point.
// The lines are checked against curves known in closed form: a circle, a straight line, the
// two resolutions of a saddle cell.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <tapegrad/autodiff/error.hpp>
#include <tapegrad/charts/plot.hpp>
#include <vector>

namespace tg = tapegrad;
namespace charts = tapegrad::charts;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<double> grid(double lo, double hi, std::size_t n) {
    std::vector<double> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * static_cast<double>(i) / (n - 1);
    return v;
}

template <class F>
std::vector<std::vector<double>> sample(const std::vector<double>& xs,
                                        const std::vector<double>& ys, F f) {
    std::vector<std::vector<double>> z(ys.size(), std::vector<double>(xs.size()));
    for (std::size_t j = 0; j < ys.size(); ++j)
        for (std::size_t i = 0; i < xs.size(); ++i) z[j][i] = f(xs[i], ys[j]);
    return z;
}

// The area enclosed by a closed polyline (shoelace formula), always positive.
double area(const charts::Polyline& line) {
    double a = 0;
    for (std::size_t k = 0; k + 1 < line.size(); ++k)
        a += line[k].first * line[k + 1].second - line[k + 1].first * line[k].second;
    return std::abs(a) / 2;
}

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + 1)) ++n;
    return n;
}

// The text of the first <g class="NAME"> ... </g> group (groups of this writer do not nest).
std::string group(const std::string& svg, const std::string& name) {
    const auto begin = svg.find("<g class=\"" + name + "\"");
    if (begin == std::string::npos) return "";
    return svg.substr(begin, svg.find("</g>", begin) - begin);
}

// Every number in the points="..." attributes of a piece of SVG.
std::vector<double> point_coordinates(const std::string& s) {
    std::vector<double> out;
    for (auto pos = s.find("points=\""); pos != std::string::npos;
         pos = s.find("points=\"", pos + 1)) {
        const auto begin = pos + 8, end = s.find('"', begin);
        std::string pts = s.substr(begin, end - begin);
        for (char& c : pts)
            if (c == ',') c = ' ';
        std::size_t i = 0;
        while (i < pts.size()) {
            std::size_t used = 0;
            out.push_back(std::stod(pts.substr(i), &used));
            i += used;
            while (i < pts.size() && pts[i] == ' ') ++i;
        }
    }
    return out;
}

// The values of the x tick labels.
std::vector<double> x_ticks(const std::string& svg) {
    std::vector<double> out;
    for (auto pos = svg.find("class=\"xtick\""); pos != std::string::npos;
         pos = svg.find("class=\"xtick\"", pos + 1)) {
        const auto begin = svg.find('>', pos) + 1;
        out.push_back(std::stod(svg.substr(begin, svg.find('<', begin) - begin)));
    }
    return out;
}

}  // namespace

TEST_CASE("contour: the unit circle of x^2 + y^2 is one closed line of radius 1") {
    const auto xs = grid(-2, 2, 41), ys = grid(-2, 2, 41);
    const auto z = sample(xs, ys, [](double x, double y) { return x * x + y * y; });
    const auto lines = charts::contour_lines(xs, ys, z, 1.0);
    REQUIRE(lines.size() == 1);
    const charts::Polyline& c = lines[0];
    REQUIRE(c.size() > 30);
    CHECK(c.front() == c.back());  // closed
    // Interpolating x^2 linearly along an edge of length h = 0.1 misplaces the crossing by
    // less than h^2 / 4 relative to radius 1.
    for (const auto& [x, y] : c) CHECK(std::abs(std::hypot(x, y) - 1) < 0.0025);
    CHECK(area(c) == Approx(M_PI).epsilon(0.01));
    // A level that the surface never reaches has no line.
    CHECK(charts::contour_lines(xs, ys, z, -1.0).empty());
    CHECK(charts::contour_lines(xs, ys, z, 100.0).empty());
}

TEST_CASE("contour: a plane gives the straight line where it equals the level") {
    // z = x on xs {0, 0.5, 1}, ys {0, 1, 2}: the level 0.25 is the line x = 0.25, crossing the
    // three horizontal edges of the first column of cells at y = 0, 1, 2.
    const std::vector<double> xs{0, 0.5, 1}, ys{0, 1, 2};
    const auto z = sample(xs, ys, [](double x, double) { return x; });
    const auto lines = charts::contour_lines(xs, ys, z, 0.25);
    REQUIRE(lines.size() == 1);
    REQUIRE(lines[0].size() == 3);
    const bool upward = lines[0].front().second < lines[0].back().second;
    for (std::size_t k = 0; k < 3; ++k) {
        CHECK(lines[0][k].first == Approx(0.25));
        CHECK(lines[0][k].second == Approx(upward ? k : 2.0 - k));
    }
}

TEST_CASE("contour: a saddle cell is split by the mean of its corners") {
    // Corners (0,0) = 1, (1,0) = 0, (1,1) = 1, (0,1) = 0; the mean is 0.5.
    const std::vector<double> xs{0, 1}, ys{0, 1};
    const std::vector<std::vector<double>> z{{1, 0}, {0, 1}};  // z[j][i]
    auto near = [](const charts::Polyline& l, double x0, double y0, double x1, double y1) {
        const auto& [ax, ay] = l.front();
        const auto& [bx, by] = l.back();
        const auto eq = [](double a, double b) { return std::abs(a - b) < 1e-12; };
        return (eq(ax, x0) && eq(ay, y0) && eq(bx, x1) && eq(by, y1)) ||
               (eq(ax, x1) && eq(ay, y1) && eq(bx, x0) && eq(by, y0));
    };
    // Level 0.4 < mean: the high corners are joined through the centre, the two lines cut off
    // the low corners (1,0) and (0,1).
    auto low = charts::contour_lines(xs, ys, z, 0.4);
    REQUIRE(low.size() == 2);
    CHECK(low[0].size() == 2);
    CHECK(low[1].size() == 2);
    CHECK((near(low[0], 0.6, 0, 1, 0.4) || near(low[1], 0.6, 0, 1, 0.4)));
    CHECK((near(low[0], 0, 0.6, 0.4, 1) || near(low[1], 0, 0.6, 0.4, 1)));
    // Level 0.6 > mean: the lines cut off the high corners (0,0) and (1,1).
    auto high = charts::contour_lines(xs, ys, z, 0.6);
    REQUIRE(high.size() == 2);
    CHECK((near(high[0], 0.4, 0, 0, 0.4) || near(high[1], 0.4, 0, 0, 0.4)));
    CHECK((near(high[0], 1, 0.6, 0.6, 1) || near(high[1], 1, 0.6, 0.6, 1)));
}

TEST_CASE("contour: a cell with a NaN corner has no line, the rest still do") {
    // z = x over three rows of cells; the middle row's right-hand corner at y = 1 is NaN, so
    // the cells touching it are skipped and the line x = 0.25 breaks into two pieces.
    const std::vector<double> xs{0, 0.5, 1}, ys{0, 1, 2, 3};
    auto z = sample(xs, ys, [](double x, double) { return x; });
    z[1][1] = kNaN;  // (0.5, 1): a corner of the first-column cells of rows 0 and 1
    auto lines = charts::contour_lines(xs, ys, z, 0.25);
    REQUIRE(lines.size() == 1);  // only the cell of row 2 (y in [2, 3]) is left
    REQUIRE(lines[0].size() == 2);
    for (const auto& [x, y] : lines[0]) {
        CHECK(x == Approx(0.25));
        CHECK(y >= 2);
    }
}

TEST_CASE("contour: errors name what is wrong") {
    const std::vector<double> xs{0, 1, 2}, ys{0, 1};
    const std::vector<std::vector<double>> z{{0, 1, 2}, {0, 1, 2}};
    CHECK_THROWS_AS(charts::contour_lines({0}, ys, {{0}, {0}}, 0.5), tg::ValueError);
    CHECK_THROWS_WITH(charts::contour_lines({0, 2, 1}, ys, z, 0.5),
                      Catch::Contains("xs must increase strictly"));
    CHECK_THROWS_WITH(charts::contour_lines(xs, {1, 1}, z, 0.5),
                      Catch::Contains("ys must increase strictly"));
    CHECK_THROWS_AS(charts::contour_lines(xs, ys, {{0, 1, 2}}, 0.5), tg::ShapeError);
    CHECK_THROWS_WITH(charts::contour_lines(xs, ys, {{0, 1, 2}, {0, 1}}, 0.5),
                      Catch::Contains("row 1 of z has 2 values"));
    charts::LinePlot chart;
    CHECK_THROWS_AS(chart.add_contours(xs, ys, {{0, 1, 2}}, {0.5}), tg::ShapeError);
    CHECK(chart.svg().find("class=\"contour\"") == std::string::npos);  // nothing was added
}

TEST_CASE("contour: LinePlot draws contours light, under the series, without legend entries") {
    const auto xs = grid(-2, 2, 21), ys = grid(-2, 2, 21);
    const auto z = sample(xs, ys, [](double x, double y) { return x * x + y * y; });
    const std::vector<double> px{0, 0.5, 1}, py{0, 0.25, 0.5};

    charts::LinePlot plain("path", "x", "y");
    plain.add("gradient descent", px, py);
    const std::string before = plain.svg();
    CHECK(before.find("class=\"contour\"") == std::string::npos);
    CHECK(before.find("point-mark") == std::string::npos);

    charts::LinePlot chart("path", "x", "y");
    chart.add_contours(xs, ys, z, {0.5, 1, 2}).add("gradient descent", px, py);
    chart.mark_point(0, 0, "minimum (0, 0)");
    const std::string svg = chart.svg();

    const std::string contour = group(svg, "contour");
    REQUIRE(!contour.empty());
    CHECK(contour.find("stroke=\"#c8c8c8\"") != std::string::npos);
    CHECK(count(contour, "<polyline") == 3);  // one closed circle per level
    // Under the series: the contour group comes first.
    CHECK(svg.find("class=\"contour\"") < svg.find("class=\"series\""));
    // The series keeps the first colour and is the only legend entry.
    CHECK(count(svg, "stroke=\"#1f77b4\"") == count(before, "stroke=\"#1f77b4\""));
    CHECK(count(svg, "class=\"legend-name\"") == 1);
    // Every contour point is inside the 720 x 440 picture.
    const auto coords = point_coordinates(contour);
    REQUIRE(coords.size() > 20);
    for (std::size_t k = 0; k < coords.size(); ++k) {
        CHECK(coords[k] >= 0);
        CHECK(coords[k] <= (k % 2 == 0 ? 720 : 440));
    }
    // The axes now span the contours (x from -2 to 2), not just the path (x from 0 to 1).
    const auto ticks = x_ticks(svg), ticks_before = x_ticks(before);
    REQUIRE(!ticks.empty());
    REQUIRE(!ticks_before.empty());
    CHECK(ticks.front() <= -1.5);
    CHECK(ticks.back() >= 1.5);
    CHECK(ticks_before.front() >= 0);
    CHECK(ticks_before.back() <= 1);
    // The point mark: a ring and its label.
    CHECK(count(svg, "class=\"point-mark\"") == 1);
    CHECK(svg.find(">minimum (0, 0)</text>") != std::string::npos);
}

TEST_CASE("contour: a point mark widens the axes, one that cannot be drawn is left out") {
    charts::LinePlot chart;
    chart.add("a", {0, 1}, {1, 10}).log_y();
    chart.mark_point(5, 1, "far right").mark_point(0.5, -1, "not on a log axis");
    const std::string svg = chart.svg();
    CHECK(count(svg, "class=\"point-mark\"") == 1);
    CHECK(svg.find("far right") != std::string::npos);
    CHECK(svg.find("not on a log axis") == std::string::npos);
    CHECK(x_ticks(svg).back() >= 4.5);  // the x axis reaches the mark at 5
}
