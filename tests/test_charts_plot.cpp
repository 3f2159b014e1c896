// LinePlot (tapegrad/charts/plot.hpp): the SVG is well-formed XML (a small checker below, so the
// test needs no XML library), every coordinate is a finite number inside the view box, texts
// are escaped, tick labels are the expected 1-2-5 or decade values, non-finite points break
// the line, degenerate data still gives a picture, and save() is atomic and reports failures.
#include <catch2/catch.hpp>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <tapegrad/autodiff/error.hpp>
#include <tapegrad/charts/plot.hpp>
#include <vector>

#include "files.hpp"

namespace tg = tapegrad;
namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

struct Element {
    std::string name;
    std::map<std::string, std::string> attrs;  // values with entities decoded
    std::string text;                          // direct character data, entities decoded
    int parent = -1;                           // index in the element list
};

struct Parsed {
    std::vector<Element> elements;  // document order
    std::string error;              // empty when the document is well-formed
};

bool name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' ||
           c == '.';
}

// Decodes the five predefined entities and numeric references; anything else is an error, as
// is a bare '<' (the rules of XML 1.0 for character data and attribute values).
bool decode(const std::string& raw, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(raw[i]);
        if (c == '<') return false;
        if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') return false;
        if (c != '&') {
            out += raw[i];
            continue;
        }
        const std::size_t semi = raw.find(';', i);
        if (semi == std::string::npos) return false;
        const std::string ent = raw.substr(i + 1, semi - i - 1);
        static const std::map<std::string, char> named = {
            {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
        if (auto it = named.find(ent); it != named.end()) {
            out += it->second;
        } else if (ent.size() > 1 && ent[0] == '#') {
            out += '?';  // a numeric reference; the charts do not need its value
        } else {
            return false;
        }
        i = semi;
    }
    return true;
}

// A well-formedness check of the subset of XML that an SVG writer produces: one prolog, then
// one root element; start tags with quoted attributes (no duplicates), empty-element tags,
// end tags matching the open element, and character data with valid entities.
Parsed parse_xml(const std::string& s) {
    Parsed p;
    std::vector<int> open;
    std::size_t i = 0;
    bool root_seen = false;
    auto fail = [&](const std::string& why) {
        p.error = why + " at byte " + std::to_string(i);
        return p;
    };
    if (s.rfind("<?xml", 0) == 0) {
        i = s.find("?>");
        if (i == std::string::npos) return fail("unterminated prolog");
        i += 2;
    }
    while (i < s.size()) {
        if (s[i] != '<') {
            const std::size_t next = std::min(s.find('<', i), s.size());
            const std::string raw = s.substr(i, next - i);
            std::string text;
            if (!decode(raw, text)) return fail("bad character data '" + raw + "'");
            if (open.empty()) {
                if (raw.find_first_not_of(" \n\r\t") != std::string::npos)
                    return fail("text outside the root");
            } else {
                p.elements[static_cast<std::size_t>(open.back())].text += text;
            }
            i = next;
            continue;
        }
        if (s.compare(i, 2, "</") == 0) {
            std::size_t j = i + 2;
            while (j < s.size() && name_char(s[j])) ++j;
            const std::string name = s.substr(i + 2, j - i - 2);
            if (j >= s.size() || s[j] != '>') return fail("bad end tag");
            if (open.empty() || p.elements[static_cast<std::size_t>(open.back())].name != name)
                return fail("end tag </" + name + "> does not match the open element");
            open.pop_back();
            i = j + 1;
            continue;
        }
        // A start tag or an empty-element tag.
        std::size_t j = i + 1;
        while (j < s.size() && name_char(s[j])) ++j;
        Element e;
        e.name = s.substr(i + 1, j - i - 1);
        if (e.name.empty() || !std::isalpha(static_cast<unsigned char>(e.name[0])))
            return fail("bad tag name");
        if (open.empty() && root_seen) return fail("a second root element");
        root_seen = true;
        e.parent = open.empty() ? -1 : open.back();
        bool empty_tag = false;
        while (true) {
            while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
            if (j >= s.size()) return fail("unterminated tag");
            if (s[j] == '>') {
                ++j;
                break;
            }
            if (s.compare(j, 2, "/>") == 0) {
                j += 2;
                empty_tag = true;
                break;
            }
            const std::size_t a = j;
            while (j < s.size() && name_char(s[j])) ++j;
            const std::string attr = s.substr(a, j - a);
            if (attr.empty() || j + 1 >= s.size() || s[j] != '=' || s[j + 1] != '"')
                return fail("bad attribute in <" + e.name + ">");
            const std::size_t close = s.find('"', j + 2);
            if (close == std::string::npos) return fail("unterminated attribute value");
            std::string value;
            if (!decode(s.substr(j + 2, close - j - 2), value))
                return fail("bad attribute value of " + attr);
            if (!e.attrs.emplace(attr, value).second) return fail("duplicate attribute " + attr);
            j = close + 1;
            if (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j])) && s[j] != '>' &&
                s[j] != '/')
                return fail("no space between attributes");
        }
        p.elements.push_back(std::move(e));
        if (!empty_tag) open.push_back(static_cast<int>(p.elements.size()) - 1);
        i = j;
    }
    if (!open.empty()) return fail("unclosed <" + p.elements[open.back()].name + ">");
    if (!root_seen) return fail("no root element");
    return p;
}

Parsed well_formed(const std::string& svg) {
    Parsed p = parse_xml(svg);
    INFO(p.error);
    REQUIRE(p.error.empty());
    REQUIRE(p.elements.front().name == "svg");
    return p;
}

bool parse_number(std::string_view s, double& v) {
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::vector<std::string> split(const std::string& s, const std::string& seps) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (seps.find(c) != std::string::npos) {
            if (!cur.empty()) out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) out.push_back(cur);
    return out;
}

// Every coordinate attribute (x, y, x1..y2, cx, cy, rect extents, polyline points, rotation
// centres) is a finite number within [0, width] x [0, height].
void coordinates_inside(const Parsed& p, double width, double height) {
    auto check = [&](const Element& e, const std::string& what, const std::string& text,
                     double limit) {
        double v = 0;
        INFO("<" << e.name << "> " << what << " = '" << text << "'");
        REQUIRE(parse_number(text, v));
        CHECK(std::isfinite(v));
        CHECK(v >= 0);
        CHECK(v <= limit);
        return v;
    };
    std::size_t checked = 0;
    for (const Element& e : p.elements) {
        for (const auto& [name, value] : e.attrs) {
            if (name == "x" || name == "x1" || name == "x2" || name == "cx") {
                check(e, name, value, width);
                ++checked;
            } else if (name == "y" || name == "y1" || name == "y2" || name == "cy") {
                check(e, name, value, height);
                ++checked;
            }
        }
        if (e.name == "rect") {
            check(e, "x + width",
                  std::to_string(std::stod(e.attrs.at("x")) + std::stod(e.attrs.at("width"))),
                  width);
            check(e, "y + height",
                  std::to_string(std::stod(e.attrs.at("y")) + std::stod(e.attrs.at("height"))),
                  height);
        }
        if (e.name == "polyline") {
            const auto numbers = split(e.attrs.at("points"), " ,");
            REQUIRE(numbers.size() % 2 == 0);
            for (std::size_t k = 0; k < numbers.size(); ++k) {
                check(e, "points", numbers[k], k % 2 == 0 ? width : height);
                ++checked;
            }
        }
        if (auto t = e.attrs.find("transform"); t != e.attrs.end()) {
            REQUIRE(t->second.rfind("rotate(", 0) == 0);
            const auto args = split(t->second.substr(7, t->second.size() - 8), " ,");
            REQUIRE(args.size() == 3);
            check(e, "rotation x", args[1], width);
            check(e, "rotation y", args[2], height);
        }
    }
    CHECK(checked > 0);
}

std::vector<const Element*> with_class(const Parsed& p, const std::string& cls) {
    std::vector<const Element*> out;
    for (const Element& e : p.elements) {
        auto it = e.attrs.find("class");
        if (it != e.attrs.end() && it->second == cls) out.push_back(&e);
    }
    return out;
}

std::vector<std::string> texts(const Parsed& p, const std::string& cls) {
    std::vector<std::string> out;
    for (const Element* e : with_class(p, cls)) out.push_back(e->text);
    return out;
}

// The polylines and dots (circles) drawn for the series of the given index.
struct Drawn {
    std::vector<std::size_t> polyline_points;
    std::size_t dots = 0;
};
Drawn drawn(const Parsed& p, std::size_t series) {
    const auto groups = with_class(p, "series");
    REQUIRE(series < groups.size());
    const int g = static_cast<int>(groups[series] - p.elements.data());
    Drawn d;
    for (const Element& e : p.elements) {
        if (e.parent != g) continue;
        if (e.name == "polyline")
            d.polyline_points.push_back(split(e.attrs.at("points"), " ").size());
        if (e.name == "circle") ++d.dots;
    }
    return d;
}

void valid_picture(const std::string& svg, double width = 720, double height = 440) {
    const Parsed p = well_formed(svg);
    coordinates_inside(p, width, height);
    // Both axes have at least two labelled ticks.
    CHECK(texts(p, "xtick").size() >= 2);
    CHECK(texts(p, "ytick").size() >= 2);
    CHECK(svg.find("nan") == std::string::npos);
    CHECK(svg.find("inf") == std::string::npos);
}

std::vector<double> range(int n, double step = 1.0) {
    std::vector<double> v;
    for (int i = 0; i < n; ++i) v.push_back(i * step);
    return v;
}

}  // namespace

TEST_CASE("plot: the XML checker of this test rejects what is not well-formed") {
    CHECK(parse_xml("<svg><g></g></svg>").error.empty());
    CHECK(
        parse_xml("<?xml version=\"1.0\"?>\n<svg a=\"1\"><t>a &amp; b</t></svg>\n").error.empty());
    CHECK_FALSE(parse_xml("<svg><g></svg>").error.empty());
    CHECK_FALSE(parse_xml("<svg><g></g>").error.empty());
    CHECK_FALSE(parse_xml("<svg>a < b</svg>").error.empty());
    CHECK_FALSE(parse_xml("<svg>a & b</svg>").error.empty());
    CHECK_FALSE(parse_xml("<svg t=\"<\"/>").error.empty());
    CHECK_FALSE(parse_xml("<svg t=\"a\"\"/>").error.empty());
    CHECK_FALSE(parse_xml("<svg/><svg/>").error.empty());
    CHECK_FALSE(parse_xml("<svg>\x01</svg>").error.empty());
}

TEST_CASE("plot: a loss chart is well-formed, inside its view box, with escaped texts") {
    const std::vector<double> epochs = range(30, 1.0);
    std::vector<double> train, val;
    for (double e : epochs) {
        train.push_back(2.0 * std::exp(-e / 8) + 0.1);
        val.push_back(2.2 * std::exp(-e / 9) + 0.2);
    }
    const std::string title = "Loss <train> & \"val\" 'quoted'";
    const std::string svg = tg::charts::LinePlot(title, "epoch < 30", "loss & more")
                                .add("train <a&b>", epochs, train)
                                .add("val \"x\"", epochs, val)
                                .mark_x(12, "best <epoch>")
                                .svg();
    valid_picture(svg);
    const Parsed p = well_formed(svg);

    // Decoded texts equal the originals; the raw document holds only their escaped forms.
    REQUIRE(texts(p, "title") == std::vector<std::string>{title});
    CHECK(svg.find("Loss &lt;train&gt; &amp; &quot;val&quot; &apos;quoted&apos;") !=
          std::string::npos);
    CHECK(svg.find("<train>") == std::string::npos);
    CHECK(texts(p, "legend-name") == std::vector<std::string>{"train <a&b>", "val \"x\""});
    CHECK(svg.find("train &lt;a&amp;b&gt;") != std::string::npos);
    CHECK(texts(p, "xlabel") == std::vector<std::string>{"epoch < 30"});
    CHECK(texts(p, "ylabel") == std::vector<std::string>{"loss & more"});
    CHECK(texts(p, "mark-label") == std::vector<std::string>{"best <epoch>"});

    // Each series is one polyline of all its points, in its own colour.
    const auto groups = with_class(p, "series");
    REQUIRE(groups.size() == 2);
    CHECK(groups[0]->attrs.at("stroke") != groups[1]->attrs.at("stroke"));
    CHECK(drawn(p, 0).polyline_points == std::vector<std::size_t>{30});
    CHECK(drawn(p, 1).polyline_points == std::vector<std::size_t>{30});
}

TEST_CASE("plot: ticks of [0, 1] are 0.0, 0.2, ..., 1.0 (1-2-5 steps)") {
    // The y axis (346 pixels at the default size) aims at one label per 48 pixels, about 7:
    // the nearest 1-2-5 step to 1.08 / 7 is 0.2. The x axis (about 600 pixels, one label per
    // 75 pixels, about 8) gets 0.1.
    const std::string svg =
        tg::charts::LinePlot("t", "x", "y").add("s", {0, 0.5, 1}, {0, 1, 0.5}).svg();
    const Parsed p = well_formed(svg);
    CHECK(texts(p, "ytick") == std::vector<std::string>{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"});
    CHECK(texts(p, "xtick") == std::vector<std::string>{"0.0", "0.1", "0.2", "0.3", "0.4", "0.5",
                                                        "0.6", "0.7", "0.8", "0.9", "1.0"});

    // Labels are evenly spaced: tick i sits at the pixel of value 0.2 i.
    std::vector<double> ys;
    for (const Element* e : with_class(p, "ytick")) ys.push_back(std::stod(e->attrs.at("y")));
    for (std::size_t i = 2; i < ys.size(); ++i) {
        CHECK(ys[i] - ys[i - 1] == Approx(ys[1] - ys[0]).margin(0.02));
    }
    CHECK(ys[1] < ys[0]);  // larger values higher up

    // Larger values: steps of 50 on [0, 250], no decimals.
    const Parsed q = well_formed(tg::charts::LinePlot().add("s", {0, 1}, {0, 250}).svg());
    CHECK(texts(q, "ytick") == std::vector<std::string>{"0", "50", "100", "150", "200", "250"});
}

TEST_CASE("plot: a log axis has decade ticks") {
    std::vector<double> x, y;
    for (int i = 0; i <= 60; ++i) {
        x.push_back(i);
        y.push_back(std::pow(10.0, -6 + i / 10.0));  // 1e-06 ... 1
    }
    const std::string svg =
        tg::charts::LinePlot("", "step", "loss").add("loss", x, y).log_y().svg();
    valid_picture(svg);
    const Parsed p = well_formed(svg);
    CHECK(texts(p, "ytick") ==
          std::vector<std::string>{"1e-06", "1e-05", "0.0001", "0.001", "0.01", "0.1", "1"});
    // Decades are evenly spaced on a log axis, and the straight line in log space is drawn
    // with its ends at the first and last decade tick.
    std::vector<double> ys;
    for (const Element* e : with_class(p, "ytick")) ys.push_back(std::stod(e->attrs.at("y")) - 4);
    for (std::size_t i = 2; i < ys.size(); ++i) {
        CHECK(ys[i] - ys[i - 1] == Approx(ys[1] - ys[0]).margin(0.02));
    }
    const Element* line = nullptr;
    for (const Element& e : p.elements) {
        if (e.name == "polyline") line = &e;
    }
    REQUIRE(line != nullptr);
    const auto pts = split(line->attrs.at("points"), " ,");
    CHECK(std::stod(pts[1]) == Approx(ys.front()).margin(0.02));
    CHECK(std::stod(pts.back()) == Approx(ys.back()).margin(0.02));

    // A log x axis from 1e-05 to 10.
    std::vector<double> lr;
    for (int i = 0; i <= 60; ++i) lr.push_back(std::pow(10.0, -5 + i / 10.0));
    const Parsed q = well_formed(tg::charts::LinePlot().add("", lr, x).log_x().svg());
    CHECK(texts(q, "xtick") ==
          std::vector<std::string>{"1e-05", "0.0001", "0.001", "0.01", "0.1", "1", "10"});
}

TEST_CASE("plot: NaN and infinite points are skipped and break the line") {
    std::vector<double> x = range(12), y = range(12);
    y[4] = kNaN;   // a run of 4 points (0-3) before it
    x[7] = kInf;   // a run of 2 (5, 6) before it
    y[9] = -kInf;  // point 8 alone: a dot; then 10, 11
    const std::string svg = tg::charts::LinePlot().add("diverged", x, y).svg();
    valid_picture(svg);
    const Parsed p = well_formed(svg);
    const Drawn d = drawn(p, 0);
    CHECK(d.polyline_points == std::vector<std::size_t>{4, 2, 2});
    CHECK(d.dots == 1);
    // The axes span the finite points only: 0 to 11.
    const auto yt = texts(p, "ytick");
    CHECK(yt.front() == "0");
    CHECK(yt.back() == "10");
}

TEST_CASE("plot: degenerate data still gives a valid picture") {
    const double nan = kNaN;
    SECTION("one point") {
        valid_picture(tg::charts::LinePlot("one").add("p", {3}, {7}).svg());
    }
    SECTION("all y equal") {
        const std::string svg = tg::charts::LinePlot().add("flat", {0, 1, 2}, {5, 5, 5}).svg();
        valid_picture(svg);
        // The axis is widened around 5 (to about 4.5 .. 5.5) and the line drawn across it.
        const Parsed p = well_formed(svg);
        CHECK(drawn(p, 0).polyline_points == std::vector<std::size_t>{3});
        const auto yt = texts(p, "ytick");
        CHECK(std::stod(yt.front()) < 5);
        CHECK(std::stod(yt.back()) > 5);
    }
    SECTION("all zero") {
        valid_picture(tg::charts::LinePlot().add("z", {0, 0}, {0, 0}).svg());
    }
    SECTION("empty series and no series") {
        valid_picture(tg::charts::LinePlot("empty").add("nothing", {}, {}).svg());
        valid_picture(tg::charts::LinePlot().svg());
    }
    SECTION("only NaN") {
        valid_picture(tg::charts::LinePlot().add("non-finite", {nan, 1}, {1, nan}).svg());
    }
    SECTION("log axes with non-positive values") {
        const std::string svg = tg::charts::LinePlot()
                                    .add("mixed", {-1, 0, 1, 2, 3}, {1, 1, 0, -2, 100})
                                    .add("none", {-1, -2}, {1, 2})
                                    .log_x()
                                    .log_y()
                                    .mark_x(-5, "not drawn")
                                    .mark_x(0, "not drawn either")
                                    .svg();
        valid_picture(svg);
        const Parsed p = well_formed(svg);
        CHECK(drawn(p, 0).dots == 1);  // only (3, 100) is drawable
        CHECK(drawn(p, 1).dots + drawn(p, 1).polyline_points.size() == 0);
        CHECK(with_class(p, "mark").empty());
    }
    SECTION("huge and tiny values") {
        valid_picture(tg::charts::LinePlot().add("big", {-1e300, 1e300}, {1e300, -1e300}).svg());
        valid_picture(tg::charts::LinePlot().add("beyond", {0, 1e305, 1}, {1, 1, 2}).svg());
        valid_picture(tg::charts::LinePlot().add("tiny", {1e-310, 2e-310}, {1, 1 + 1e-15}).svg());
        valid_picture(tg::charts::LinePlot().add("far", {1e9, 1e9 + 1e-6}, {0, 1}).svg());
        valid_picture(tg::charts::LinePlot().add("many", {1e-300, 1e300}, {1, 2}).log_x().svg());
    }
    SECTION("the smallest size") {
        valid_picture(tg::charts::LinePlot("a long title for a small chart", "x", "y")
                          .add("a series with a long name", {0, 1}, {0, 1})
                          .mark_x(0.5, "middle")
                          .svg(240, 160),
                      240, 160);
    }
}

TEST_CASE("plot: legend, colours and marks") {
    tg::charts::LinePlot plot;
    for (int i = 0; i < 12; ++i)
        plot.add(i == 5 ? "" : std::string("s") + std::to_string(i), {0, 1}, {0, 1.0 * i});
    plot.mark_x(0.5, "half");
    const Parsed p = well_formed(plot.svg());
    coordinates_inside(p, 720, 440);

    // Unnamed series are drawn but not listed.
    std::vector<std::string> expected;
    for (int i = 0; i < 12; ++i) {
        if (i != 5) expected.push_back(std::string("s") + std::to_string(i));
    }
    CHECK(texts(p, "legend-name") == expected);

    // The first ten colours differ; the eleventh reuses the first, dashed.
    const auto groups = with_class(p, "series");
    REQUIRE(groups.size() == 12);
    for (std::size_t i = 0; i < 10; ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            CHECK(groups[i]->attrs.at("stroke") != groups[j]->attrs.at("stroke"));
        }
        CHECK(groups[i]->attrs.count("stroke-dasharray") == 0);
    }
    CHECK(groups[10]->attrs.at("stroke") == groups[0]->attrs.at("stroke"));
    CHECK(groups[10]->attrs.count("stroke-dasharray") == 1);

    // The mark is a vertical line at the pixel of x = 0.5, where the "0.5" tick label is.
    const auto marks = with_class(p, "mark");
    REQUIRE(marks.size() == 1);
    CHECK(marks[0]->attrs.at("x1") == marks[0]->attrs.at("x2"));
    const Element* half = nullptr;
    for (const Element* e : with_class(p, "xtick")) {
        if (e->text == "0.5") half = e;
    }
    REQUIRE(half != nullptr);
    CHECK(std::stod(marks[0]->attrs.at("x1")) ==
          Approx(std::stod(half->attrs.at("x"))).margin(0.01));
    CHECK(texts(p, "mark-label") == std::vector<std::string>{"half"});
}

TEST_CASE("plot: control characters and invalid UTF-8 in names keep the XML valid") {
    const std::string svg = tg::charts::LinePlot("tab\there\x01", "caf\xC3\xA9", "bad \xFF\xC3")
                                .add("\xE2\x82\xAC sign", {0, 1}, {0, 1})
                                .svg();
    const Parsed p = well_formed(svg);
    CHECK(texts(p, "title") == std::vector<std::string>{"tab here "});
    CHECK(texts(p, "xlabel") == std::vector<std::string>{"caf\xC3\xA9"});
    CHECK(texts(p, "ylabel") == std::vector<std::string>{"bad \xEF\xBF\xBD\xEF\xBF\xBD"});
    CHECK(texts(p, "legend-name") == std::vector<std::string>{"\xE2\x82\xAC sign"});
}

TEST_CASE("plot: errors") {
    CHECK_THROWS_AS(tg::charts::LinePlot().add("s", {1, 2}, {1}), tg::ShapeError);
    CHECK_THROWS_WITH(tg::charts::LinePlot().add("s", {1, 2}, {1}),
                      Catch::Contains("'s'") && Catch::Contains("2 x values"));
    CHECK_THROWS_AS(tg::charts::LinePlot().svg(239, 400), tg::ValueError);
    CHECK_THROWS_AS(tg::charts::LinePlot().svg(400, 0), tg::ValueError);
}

TEST_CASE("plot: save writes the file atomically and names the path on failure") {
    const testing::TempDir temp("plot");
    const fs::path dir = temp.path;
    const fs::path file = dir / "loss.svg";
    tg::charts::LinePlot plot("saved");
    plot.add("a", {0, 1, 2}, {3, 1, 2});

    testing::write_file(file, "old contents");
    plot.save(file, 640, 400);
    CHECK(testing::read_file(file) == plot.svg(640, 400));
    // Only the target is left: the temporary file was renamed over it.
    std::size_t entries = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        ++entries;
        CHECK(entry.path().filename() == "loss.svg");
    }
    CHECK(entries == 1);

    const fs::path missing = dir / "no such folder" / "x.svg";
    CHECK_THROWS_AS(plot.save(missing), tg::IoError);
    CHECK_THROWS_WITH(plot.save(missing), Catch::Contains(missing.string()));
    // A directory where the file should be: the rename fails, the temporary is removed.
    const fs::path taken = dir / "taken.svg";
    fs::create_directories(taken / "inside");
    CHECK_THROWS_AS(plot.save(taken), tg::IoError);
    entries = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        (void)entry;
        ++entries;
    }
    CHECK(entries == 2);  // loss.svg and the directory taken.svg
}
