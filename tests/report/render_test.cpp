// Renders a report in headless Chromium through scripts/render_report.sh. Skips
// when chromium is not installed (the script exits 77).
#include <gtest/gtest.h>

#include <cstdlib>

#include "brainsem/report/html_report.h"
#include "brainsem/viz/plot.h"
#include "testing/paths.h"

TEST(RenderReport, ChromiumShowsTablesAndDecodesFigures) {
  brainsem::testing::TempDir dir;
  brainsem::viz::ScatterPlot p;
  p.xy = torch::tensor({{0.0, 0.0}, {1.0, 1.0}, {0.5, 0.2}});
  p.categories = {"biotic", "abiotic", "abiotic"};
  brainsem::viz::save_scatter(p, dir / "map.png");
  brainsem::viz::save_scatter(p, dir / "map.svg");
  brainsem::report::HtmlReport r("BrainSem render check");
  r.add_section("Accuracy");
  r.add_table({"Zero-shot", {"Subject", "Top-1"}, {{"S1", "12.0 [8.0, 16.0]"}}, {}, ""});
  r.add_figure(dir / "map.png", "t-SNE map");
  r.add_figure(dir / "map.svg", "ISOMAP map");
  r.add_manifest({{"seed", "42 & <7>"}});
  r.save(dir / "r.html");
  std::string cmd = (brainsem::testing::source_dir() / "scripts/render_report.sh").string() + " " +
                    (dir / "r.html").string() + " " + (dir / "shot.png").string() +
                    " 'BrainSem render check' '12.0 [8.0, 16.0]' 'Figure 2. ISOMAP map' "
                    "'42 &amp; &lt;7&gt;' > " +
                    (dir / "out.txt").string() + " 2>&1";
  int rc = std::system(cmd.c_str());
  int code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  if (code == 77) GTEST_SKIP() << "chromium not installed";
  std::string out;
  if (FILE* f = std::fopen((dir / "out.txt").c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    std::fclose(f);
  }
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("images 2/2 tables 2"), std::string::npos) << out;
  EXPECT_GT(std::filesystem::file_size(dir / "shot.png"), 1000u);
  // The same script must fail when an expected text is absent (the check can fail).
  std::string bad = (brainsem::testing::source_dir() / "scripts/render_report.sh").string() + " " +
                    (dir / "r.html").string() + " '' 'no such text' > /dev/null 2>&1";
  rc = std::system(bad.c_str());
  EXPECT_EQ(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, 1);
}
