#include "brainsem/viz/plot.h"

#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"

namespace fs = std::filesystem;

namespace brainsem::viz {

Rgb palette_color(size_t i) {
  // Ten well-separated hues (our own picks), first two red and blue for two-class maps.
  static const Rgb colors[10] = {{0.84, 0.15, 0.16}, {0.12, 0.47, 0.71}, {0.17, 0.63, 0.17}, {1.00, 0.50, 0.05},
                                 {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29}, {0.89, 0.47, 0.76}, {0.50, 0.50, 0.50},
                                 {0.74, 0.74, 0.13}, {0.09, 0.75, 0.81}};
  return colors[i % 10];
}

namespace {

constexpr double kTitleBand = 36, kLegendWidth = 150, kPad = 16;
constexpr double kAxisLeft = 64, kAxisBottom = 48;

// Draws with `draw` on a fresh canvas and writes it as PNG or SVG (by extension), atomically.
void render(const fs::path& file, int width, int height, const std::function<void(cairo_t*)>& draw) {
  BRAINSEM_CHECK(width >= 50 && height >= 50 && width <= 20000 && height <= 20000, "figure ", file, ": size ", width,
                 "x", height, " must be within 50..20000 pixels");
  std::string ext = file.extension().string();
  BRAINSEM_CHECK(ext == ".png" || ext == ".svg", "figure ", file, ": unknown format; name the file .png or .svg");
  core::write_atomically(file, [&](const fs::path& tmp) {
    cairo_surface_t* surface = ext == ".png" ? cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height)
                                             : cairo_svg_surface_create(tmp.c_str(), width, height);
    cairo_t* cr = cairo_create(surface);
    cairo_set_source_rgb(cr, 1, 1, 1);  // white background
    cairo_paint(cr);
    draw(cr);
    cairo_status_t status = cairo_status(cr);
    cairo_destroy(cr);
    if (status == CAIRO_STATUS_SUCCESS && ext == ".png") status = cairo_surface_write_to_png(surface, tmp.c_str());
    cairo_surface_finish(surface);
    if (status == CAIRO_STATUS_SUCCESS) status = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    BRAINSEM_CHECK(status == CAIRO_STATUS_SUCCESS, "figure ", file, ": cairo failed: ", cairo_status_to_string(status));
  });
}

void set_color(cairo_t* cr, const Rgb& c) { cairo_set_source_rgb(cr, c.r, c.g, c.b); }

// Text anchored at (x, y): align 0 = left, 0.5 = centre, 1 = right; vertically centred.
void text(cairo_t* cr, const std::string& s, double x, double y, double size, double align = 0, bool bold = false,
          bool vertical = false) {
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  cairo_save(cr);
  cairo_translate(cr, x, y);
  if (vertical) cairo_rotate(cr, -M_PI / 2);
  cairo_move_to(cr, -align * e.x_advance, size * 0.35);
  cairo_show_text(cr, s.c_str());
  cairo_restore(cr);
}

void title(cairo_t* cr, const std::string& s, int width) {
  if (s.empty()) return;
  set_color(cr, {0.1, 0.1, 0.1});
  text(cr, s, width / 2.0, kTitleBand / 2, 16, 0.5, true);
}

// "Nice" tick positions (steps of 1, 2 or 5 x 10^k) covering [lo, hi].
std::vector<double> ticks(double lo, double hi) {
  double raw = (hi - lo) / 5, mag = std::pow(10, std::floor(std::log10(raw)));
  double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag : 10 * mag;
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    t.push_back(std::fabs(v) < step * 1e-9 ? 0 : v);
  return t;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void axes(cairo_t* cr, const Frame& f, const std::string& xl, const std::string& yl, bool x_ticks = true) {
  set_color(cr, {0.2, 0.2, 0.2});
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, f.left, f.top, f.right - f.left, f.bottom - f.top);
  cairo_stroke(cr);
  if (x_ticks)
    for (double v : ticks(f.x0, f.x1)) {
      cairo_move_to(cr, f.px(v), f.bottom);
      cairo_line_to(cr, f.px(v), f.bottom + 5);
      cairo_stroke(cr);
      text(cr, number(v), f.px(v), f.bottom + 14, 11, 0.5);
    }
  for (double v : ticks(f.y0, f.y1)) {
    cairo_move_to(cr, f.left - 5, f.py(v));
    cairo_line_to(cr, f.left, f.py(v));
    cairo_stroke(cr);
    text(cr, number(v), f.left - 8, f.py(v), 11, 1);
  }
  if (!xl.empty()) text(cr, xl, (f.left + f.right) / 2, f.bottom + 34, 12, 0.5);
  if (!yl.empty()) text(cr, yl, f.left - 48, (f.top + f.bottom) / 2, 12, 0.5, false, true);
}

// Legend entries stacked at the top right, outside the plot area.
void legend(cairo_t* cr, const std::vector<std::string>& names, double x, double y, bool lines) {
  for (size_t i = 0; i < names.size(); ++i) {
    double cy = y + 18.0 * static_cast<double>(i);
    set_color(cr, palette_color(i));
    if (lines) {
      cairo_set_line_width(cr, 2.5);
      cairo_move_to(cr, x, cy);
      cairo_line_to(cr, x + 14, cy);
      cairo_stroke(cr);
    } else {
      cairo_arc(cr, x + 7, cy, 5, 0, 2 * M_PI);
      cairo_fill(cr);
    }
    set_color(cr, {0.1, 0.1, 0.1});
    text(cr, names[i], x + 20, cy, 12);
  }
}

// Data range with 5% padding on each side (a unit range around a constant).
std::pair<double, double> padded(double lo, double hi) {
  if (!(hi > lo)) return {lo - 1, hi + 1};
  double pad = 0.05 * (hi - lo);
  return {lo - pad, hi + pad};
}

std::vector<std::string> distinct_in_order(const std::vector<std::string>& v) {
  std::vector<std::string> out;
  for (const auto& s : v)
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  return out;
}

}  // namespace

Frame scatter_frame(const ScatterPlot& p) {
  BRAINSEM_CHECK(p.xy.defined() && p.xy.dim() == 2 && p.xy.size(1) == 2 && p.xy.size(0) >= 1,
                 "scatter plot: expected points [N >= 1, 2], got ",
                 p.xy.defined() ? p.xy.sizes() : torch::IntArrayRef{});
  auto xy = p.xy.to(torch::kDouble);
  BRAINSEM_CHECK(torch::isfinite(xy).all().item<bool>(), "scatter plot: NaN or inf coordinates");
  auto lo = std::get<0>(xy.min(0)), hi = std::get<0>(xy.max(0));
  Frame f;
  std::tie(f.x0, f.x1) = padded(lo[0].item<double>(), hi[0].item<double>());
  std::tie(f.y0, f.y1) = padded(lo[1].item<double>(), hi[1].item<double>());
  bool has_legend = !p.categories.empty() || p.regression_line;
  f.left = p.axes ? kAxisLeft : kPad;
  f.right = p.width - kPad - (has_legend ? kLegendWidth : 0);
  f.top = p.title.empty() ? kPad : kTitleBand;
  f.bottom = p.height - (p.axes ? kAxisBottom : kPad);
  BRAINSEM_CHECK(f.right - f.left > 20 && f.bottom - f.top > 20, "scatter plot: ", p.width, "x", p.height,
                 " pixels leave no room for the plot; make the figure larger");
  return f;
}

void save_scatter(const ScatterPlot& p, const fs::path& file) {
  Frame f = scatter_frame(p);
  const int64_t n = p.xy.size(0);
  BRAINSEM_CHECK(p.categories.empty() || static_cast<int64_t>(p.categories.size()) == n, "scatter plot ", file, ": ",
                 p.categories.size(), " categories for ", n, " points");
  auto names = distinct_in_order(p.categories);
  std::vector<size_t> color_of(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < static_cast<int64_t>(p.categories.size()); ++i)
    color_of[i] = std::find(names.begin(), names.end(), p.categories[i]) - names.begin();
  auto xy = p.xy.to(torch::kDouble).contiguous();
  auto a = xy.accessor<double, 2>();
  render(file, p.width, p.height, [&](cairo_t* cr) {
    title(cr, p.title, p.width);
    if (p.axes) axes(cr, f, p.x_label, p.y_label);
    for (int64_t i = 0; i < n; ++i) {
      set_color(cr, palette_color(color_of[i]));
      cairo_new_sub_path(cr);
      cairo_arc(cr, f.px(a[i][0]), f.py(a[i][1]), p.radius, 0, 2 * M_PI);
      cairo_fill(cr);
    }
    const auto& legend_names = names;
    if (p.regression_line && n >= 2) {
      // Ordinary least squares y = intercept + slope * x.
      double mx = xy.select(1, 0).mean().item<double>(), my = xy.select(1, 1).mean().item<double>();
      auto dx = xy.select(1, 0) - mx;
      double sxx = dx.pow(2).sum().item<double>();
      if (sxx > 0) {
        double slope = (dx * (xy.select(1, 1) - my)).sum().item<double>() / sxx;
        cairo_save(cr);
        cairo_rectangle(cr, f.left, f.top, f.right - f.left, f.bottom - f.top);
        cairo_clip(cr);
        set_color(cr, {0.1, 0.1, 0.1});
        cairo_set_line_width(cr, 1.5);
        cairo_move_to(cr, f.px(f.x0), f.py(my + slope * (f.x0 - mx)));
        cairo_line_to(cr, f.px(f.x1), f.py(my + slope * (f.x1 - mx)));
        cairo_stroke(cr);
        cairo_restore(cr);
      }
    }
    legend(cr, legend_names, f.right + 12, f.top + 10, false);
    if (p.regression_line) {
      double y = f.top + 10 + 18.0 * static_cast<double>(legend_names.size());
      set_color(cr, {0.1, 0.1, 0.1});
      cairo_set_line_width(cr, 1.5);
      cairo_move_to(cr, f.right + 12, y);
      cairo_line_to(cr, f.right + 26, y);
      cairo_stroke(cr);
      text(cr, "least squares", f.right + 32, y, 12);
    }
  });
}

void save_bar_chart(const BarChart& c, const fs::path& file) {
  const size_t n = c.values.size();
  BRAINSEM_CHECK(n >= 1 && c.names.size() == n, "bar chart ", file, ": ", c.names.size(), " names for ", n,
                 " values (need the same number, at least one)");
  bool bars = !c.lo.empty() || !c.hi.empty();
  BRAINSEM_CHECK(!bars || (c.lo.size() == n && c.hi.size() == n), "bar chart ", file,
                 ": error bars need one lo and one hi per bar");
  double lo = 0, hi = 0;
  for (size_t i = 0; i < n; ++i) {
    BRAINSEM_CHECK(std::isfinite(c.values[i]), "bar chart ", file, ": value of '", c.names[i], "' is not finite");
    lo = std::min({lo, c.values[i], bars ? c.lo[i] : 0.0});
    hi = std::max({hi, c.values[i], bars ? c.hi[i] : 0.0});
  }
  Frame f;
  f.x0 = 0;
  f.x1 = static_cast<double>(n);
  std::tie(f.y0, f.y1) = padded(lo, hi);
  if (lo >= 0) f.y0 = 0;  // bars grow from zero
  f.left = kAxisLeft;
  f.right = c.width - kPad;
  f.top = c.title.empty() ? kPad : kTitleBand;
  f.bottom = c.height - kAxisBottom;
  render(file, c.width, c.height, [&](cairo_t* cr) {
    title(cr, c.title, c.width);
    for (size_t i = 0; i < n; ++i) {
      double x = static_cast<double>(i);
      set_color(cr, palette_color(i));
      double y0 = f.py(std::max(f.y0, 0.0)), y1 = f.py(c.values[i]);
      cairo_rectangle(cr, f.px(x + 0.15), std::min(y0, y1), f.px(x + 0.85) - f.px(x + 0.15), std::fabs(y1 - y0));
      cairo_fill(cr);
      if (bars) {
        set_color(cr, {0.1, 0.1, 0.1});
        cairo_set_line_width(cr, 1.2);
        double cx = f.px(x + 0.5);
        cairo_move_to(cr, cx, f.py(c.lo[i]));
        cairo_line_to(cr, cx, f.py(c.hi[i]));
        for (double yv : {c.lo[i], c.hi[i]}) {
          cairo_move_to(cr, cx - 5, f.py(yv));
          cairo_line_to(cr, cx + 5, f.py(yv));
        }
        cairo_stroke(cr);
      }
      set_color(cr, {0.1, 0.1, 0.1});
      text(cr, c.names[i], f.px(x + 0.5), f.bottom + 14, 11, 0.5);
    }
    axes(cr, f, "", c.y_label, /*x_ticks=*/false);
  });
}

void save_line_chart(const LineChart& c, const fs::path& file) {
  const size_t n = c.x.size();
  BRAINSEM_CHECK(n >= 2 && !c.series.empty(), "line chart ", file, ": needs at least 2 x values and one series");
  double ylo = INFINITY, yhi = -INFINITY;
  std::vector<std::string> names;
  for (const auto& [name, ys] : c.series) {
    BRAINSEM_CHECK(ys.size() == n, "line chart ", file, ": series '", name, "' has ", ys.size(), " values for ", n,
                   " x values");
    for (double y : ys) ylo = std::min(ylo, y), yhi = std::max(yhi, y);
    names.push_back(name);
  }
  Frame f;
  std::tie(f.x0, f.x1) = padded(*std::min_element(c.x.begin(), c.x.end()), *std::max_element(c.x.begin(), c.x.end()));
  std::tie(f.y0, f.y1) = padded(ylo, yhi);
  f.left = kAxisLeft;
  f.right = c.width - kPad - kLegendWidth;
  f.top = c.title.empty() ? kPad : kTitleBand;
  f.bottom = c.height - kAxisBottom;
  render(file, c.width, c.height, [&](cairo_t* cr) {
    title(cr, c.title, c.width);
    axes(cr, f, c.x_label, c.y_label);
    for (size_t s = 0; s < c.series.size(); ++s) {
      set_color(cr, palette_color(s));
      cairo_set_line_width(cr, 2);
      for (size_t i = 0; i < n; ++i) {
        double x = f.px(c.x[i]), y = f.py(c.series[s].second[i]);
        i == 0 ? cairo_move_to(cr, x, y) : cairo_line_to(cr, x, y);
      }
      cairo_stroke(cr);
      for (size_t i = 0; i < n; ++i) {
        cairo_arc(cr, f.px(c.x[i]), f.py(c.series[s].second[i]), 3, 0, 2 * M_PI);
        cairo_fill(cr);
      }
    }
    legend(cr, names, f.right + 12, f.top + 10, true);
  });
}

}  // namespace brainsem::viz
