#include "brainsem/viz/plot.h"

#include <cairo/cairo.h>
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/viz/points_csv.h"
#include "testing/paths.h"

namespace viz = brainsem::viz;
namespace fs = std::filesystem;

namespace {
// A decoded PNG: cairo reads it back into an ARGB32 image surface.
struct Png {
  explicit Png(const fs::path& file) : s(cairo_image_surface_create_from_png(file.c_str())) {}
  ~Png() { cairo_surface_destroy(s); }
  bool ok() const { return cairo_surface_status(s) == CAIRO_STATUS_SUCCESS; }
  int width() const { return cairo_image_surface_get_width(s); }
  int height() const { return cairo_image_surface_get_height(s); }
  viz::Rgb at(double x, double y) const {  // opaque pixels: premultiplication is a no-op
    const unsigned char* d = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    uint32_t p = *reinterpret_cast<const uint32_t*>(d + static_cast<int>(std::lround(y)) * stride +
                                                    4 * static_cast<int>(std::lround(x)));
    return {((p >> 16) & 255) / 255.0, ((p >> 8) & 255) / 255.0, (p & 255) / 255.0};
  }
  cairo_surface_t* s;
};

void expect_color(const viz::Rgb& got, const viz::Rgb& want, const std::string& where) {
  EXPECT_NEAR(got.r, want.r, 2.5 / 255) << where;
  EXPECT_NEAR(got.g, want.g, 2.5 / 255) << where;
  EXPECT_NEAR(got.b, want.b, 2.5 / 255) << where;
}

// Minimal XML well-formedness: every start tag is closed in order (comments, <?..?> and
// self-closing tags skipped). Returns the number of elements, or -1 when unbalanced.
int balanced_elements(const std::string& xml) {
  std::vector<std::string> stack;
  int elements = 0;
  for (size_t i = xml.find('<'); i != std::string::npos; i = xml.find('<', i + 1)) {
    size_t end = xml.find('>', i);
    if (end == std::string::npos) return -1;
    std::string tag = xml.substr(i + 1, end - i - 1);
    if (tag[0] == '?' || tag[0] == '!') continue;
    if (tag[0] == '/') {
      std::string name = tag.substr(1, tag.find_first_of(" \t\n") - 1);
      if (stack.empty() || stack.back() != name) return -1;
      stack.pop_back();
      continue;
    }
    ++elements;
    if (tag.back() != '/') stack.push_back(tag.substr(0, tag.find_first_of(" \t\n/")));
  }
  return stack.empty() ? elements : -1;
}

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t i = s.find(what); i != std::string::npos; i = s.find(what, i + 1)) ++n;
  return n;
}

viz::ScatterPlot two_class_plot() {
  viz::ScatterPlot p;
  p.xy = torch::tensor({{0.0, 0.0}, {1.0, 1.0}, {0.0, 1.0}, {1.0, 0.0}, {0.5, 0.5}});
  p.categories = {"biotic", "biotic", "abiotic", "abiotic", "abiotic"};
  p.title = "Two classes";
  p.radius = 5;
  return p;
}
}  // namespace

TEST(Plot, ScatterPngHasTheRightSizeAndColours) {
  brainsem::testing::TempDir dir;
  auto p = two_class_plot();
  viz::save_scatter(p, dir / "s.png");
  Png png(dir / "s.png");
  ASSERT_TRUE(png.ok());
  EXPECT_EQ(png.width(), 640);
  EXPECT_EQ(png.height(), 480);
  auto f = viz::scatter_frame(p);
  auto xy = p.xy.accessor<float, 2>();
  for (int i = 0; i < 5; ++i)  // biotic (first seen) = colour 0, abiotic = colour 1
    expect_color(png.at(f.px(xy[i][0]), f.py(xy[i][1])), viz::palette_color(i < 2 ? 0 : 1),
                 "point " + std::to_string(i));
  expect_color(png.at(f.px(0.25), f.py(0.75)), {1, 1, 1}, "empty space is white");
  expect_color(png.at(2, 2), {1, 1, 1}, "corner");
  // The data rectangle is inside the canvas, with the legend to its right.
  EXPECT_GT(f.left, 0);
  EXPECT_LT(f.right, 640 - 100);
}

TEST(Plot, ScatterSvgIsWellFormedWithOneShapePerPoint) {
  brainsem::testing::TempDir dir;
  auto p = two_class_plot();
  p.title = "";  // no text glyphs: only points and legend swatches are filled shapes
  viz::save_scatter(p, dir / "a.svg");
  p.categories.clear();
  viz::save_scatter(p, dir / "b.svg");  // no legend either: just the 5 points
  auto a = brainsem::core::read_text_file(dir / "a.svg");
  auto b = brainsem::core::read_text_file(dir / "b.svg");
  EXPECT_EQ(a.rfind("<?xml", 0), 0u);
  EXPECT_NE(a.find("width=\"640"), std::string::npos);
  EXPECT_GT(balanced_elements(a), 0);
  EXPECT_GT(balanced_elements(b), 0);
  EXPECT_EQ(balanced_elements("<svg><g></svg>"), -1);  // the checker itself can fail
  // cairo writes each filled circle as one <path> (the background is a <rect>): without a
  // legend or text there is exactly one path per point.
  EXPECT_EQ(count(b, "<path"), 5);
  // With the legend: colour 0 (biotic, rgb 84% 15% 16%) fills its 2 points and 1 legend swatch.
  std::regex red("rgb\\(84%, ?15%, ?16%\\)");
  auto hits = std::distance(std::sregex_iterator(a.begin(), a.end(), red), std::sregex_iterator());
  EXPECT_EQ(hits, 3);
}

TEST(Plot, RegressionLineBarAndLineCharts) {
  brainsem::testing::TempDir dir;
  viz::ScatterPlot p;
  p.xy = torch::tensor({{0.0, 0.0}, {1.0, 2.0}, {2.0, 4.0}, {3.0, 6.0}});
  p.axes = true;
  p.regression_line = true;
  p.x_label = "similarity";
  p.y_label = "decoded";
  viz::save_scatter(p, dir / "r.png");
  Png png(dir / "r.png");
  ASSERT_TRUE(png.ok());
  // The least-squares line y = 2x passes through (1.5, 3): the pixel there is dark.
  auto f = viz::scatter_frame(p);
  auto c = png.at(f.px(1.5), f.py(3.0));
  EXPECT_LT(c.r + c.g + c.b, 1.5);
  expect_color(png.at(f.px(0.5), f.py(5.0)), {1, 1, 1}, "far from the line");

  viz::BarChart bars{
      {"V+B", "V", "none"}, {0.3, 0.2, 0.1}, {0.25, 0.15, 0.05}, {0.35, 0.25, 0.15}, "Top-1", "accuracy", 300, 200};
  viz::save_bar_chart(bars, dir / "b.png");
  Png bp(dir / "b.png");
  ASSERT_TRUE(bp.ok());
  EXPECT_EQ(bp.width(), 300);
  EXPECT_EQ(bp.height(), 200);
  viz::save_bar_chart(bars, dir / "b.svg");
  EXPECT_GT(balanced_elements(brainsem::core::read_text_file(dir / "b.svg")), 0);
  viz::LineChart line{{1, 2, 3}, {{"a", {0.1, 0.2, 0.3}}, {"b", {0.3, 0.2, 0.1}}}, "t", "x", "y"};
  viz::save_line_chart(line, dir / "l.png");
  EXPECT_TRUE(Png(dir / "l.png").ok());

  bars.lo.pop_back();
  EXPECT_THROW(viz::save_bar_chart(bars, dir / "bad.png"), brainsem::Error);
  EXPECT_THROW(viz::save_scatter(p, dir / "x.jpg"), brainsem::Error);
  EXPECT_FALSE(fs::exists(dir / "bad.png"));
  EXPECT_FALSE(fs::exists(dir / "x.jpg"));
}

TEST(Plot, PointsCsv) {
  brainsem::testing::TempDir dir;
  viz::write_points_csv(dir / "p.csv", torch::tensor({{1.5, -2.0}, {0.25, 3.0}}), {"n01443537_1", "a,b"},
                        {"biotic", "say \"hi\""});
  EXPECT_EQ(brainsem::core::read_text_file(dir / "p.csv"),
            "name,category,x,y\nn01443537_1,biotic,1.5,-2\n\"a,b\",\"say \"\"hi\"\"\",0.25,3\n");
  viz::write_points_csv(dir / "q.csv", torch::zeros({1, 3}));
  EXPECT_EQ(brainsem::core::read_text_file(dir / "q.csv"), "name,category,c0,c1,c2\n,,0,0,0\n");
  EXPECT_THROW(viz::write_points_csv(dir / "r.csv", torch::zeros({2, 2}), {"one"}), brainsem::Error);
}
