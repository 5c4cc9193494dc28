#include "brainsem/report/roi_charts.h"

#include <algorithm>

#include "brainsem/viz/plot.h"

namespace fs = std::filesystem;

namespace brainsem::report {
namespace {

std::string mode_caption(const std::string& mode) {
  if (mode == "without") return "Leave-one-ROI-out: trained and tested without the ROI's token";
  if (mode == "only") return "Single ROI: trained and tested on the ROI's token alone";
  return "Masked at evaluation: the full model, the ROI's test token replaced by its training mean (no retraining)";
}

std::string mode_title(const std::string& mode) {
  if (mode == "without") return "Leave one ROI out (retrained)";
  if (mode == "only") return "One ROI alone (retrained)";
  return "Full model, one ROI masked at test";
}

}  // namespace

std::vector<RoiChart> save_roi_charts(const experiment::RoiTable& table, const fs::path& dir) {
  std::vector<std::string> modes;
  for (const auto& r : table.rows)
    if (r.mode != "all" && std::find(modes.begin(), modes.end(), r.mode) == modes.end()) modes.push_back(r.mode);
  const experiment::RoiRow* all = table.find("all", "");
  std::vector<RoiChart> out;
  for (const auto& mode : modes) {
    viz::BarChart chart;
    auto add = [&](const std::string& name, const experiment::RoiRow& r) {
      chart.names.push_back(name);
      chart.values.push_back(100 * r.top1.mean);
      chart.lo.push_back(100 * r.ci_top1.lo);
      chart.hi.push_back(100 * r.ci_top1.hi);
    };
    if (all) add("all", *all);
    for (const auto& r : table.rows)
      if (r.mode == mode) add(r.roi, r);
    chart.title = mode_title(mode);
    chart.y_label = "zero-shot top-1 % (" + table.prototype + " prototypes)";
    chart.width = 720;
    RoiChart c{mode, dir / ("roi_" + mode + ".png"),
               mode_caption(mode) + ". Bars: mean top-1 over " + std::to_string(all ? all->cells : 0) +
                   " (subject, seed) cells; whiskers: 95 % interval (" + table.interval + ")."};
    viz::save_bar_chart(chart, c.file);
    out.push_back(c);
  }
  return out;
}

}  // namespace brainsem::report
