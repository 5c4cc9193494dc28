#pragma once
// Figures for the paper's analyses through cairo (Debian libcairo2-dev): a categorical scatter
// (Fig. 5 maps; Fig. 4 with a least-squares line), a bar chart with optional error bars
// (ablations, accuracies with intervals) and a line chart. The format follows the file
// extension, .png or .svg; files are written atomically.
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace brainsem::viz {

struct Rgb {
  double r = 0, g = 0, b = 0;  // in [0, 1]
};
// Colour i of a 10-colour categorical palette (cycles after 10).
Rgb palette_color(size_t i);

// The data-to-pixel mapping of a chart: data [x0, x1] x [y0, y1] onto the plot area whose
// corners are (left, top) and (right, bottom) in pixels (y grows downwards on the canvas).
struct Frame {
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  double left = 0, right = 1, top = 0, bottom = 1;
  double px(double x) const { return left + (x - x0) / (x1 - x0) * (right - left); }
  double py(double y) const { return bottom - (y - y0) / (y1 - y0) * (bottom - top); }
};

struct ScatterPlot {
  torch::Tensor xy;                     // [N, 2]
  std::vector<std::string> categories;  // [N] category of each point (legend in first-seen
                                        // order, colour k = palette_color(k)); empty: one colour
  std::string title, x_label, y_label;
  bool axes = false;             // maps (t-SNE, ISOMAP) have meaningless axes: off by default
  bool regression_line = false;  // least-squares y = a + b x over all points (Fig. 4)
  double radius = 3;             // point radius in pixels
  int width = 640, height = 480;
};
void save_scatter(const ScatterPlot& plot, const std::filesystem::path& file);
// Where save_scatter puts the data (for tests and for annotating the same canvas).
Frame scatter_frame(const ScatterPlot& plot);

struct BarChart {
  std::vector<std::string> names;
  std::vector<double> values;
  std::vector<double> lo, hi;  // optional error bars (both empty, or one per bar)
  std::string title, y_label;
  int width = 640, height = 480;
};
void save_bar_chart(const BarChart& chart, const std::filesystem::path& file);

struct LineChart {
  std::vector<double> x;
  std::vector<std::pair<std::string, std::vector<double>>> series;  // (legend name, y per x)
  std::string title, x_label, y_label;
  int width = 640, height = 480;
};
void save_line_chart(const LineChart& chart, const std::filesystem::path& file);

}  // namespace brainsem::viz
