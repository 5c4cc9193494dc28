#pragma once
// Bar charts of an ROI attribution (`brainsem roi`): one chart per mode, top-1 % per ROI with its
// 95 % interval, the full model ("all") as the first bar.
#include <filesystem>
#include <string>
#include <vector>

#include "brainsem/experiment/roi_attribution.h"

namespace brainsem::report {

struct RoiChart {
  std::string mode;  // "without" | "only" | "masked"
  std::filesystem::path file;
  std::string caption;
};

// Writes DIR/roi_<mode>.png for every mode in the table; returns them in the table's order.
std::vector<RoiChart> save_roi_charts(const experiment::RoiTable& table, const std::filesystem::path& dir);

}  // namespace brainsem::report
