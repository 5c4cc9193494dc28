#include "brainsem/report/html_report.h"

#include <gtest/gtest.h>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/report/base64.h"
#include "brainsem/viz/plot.h"
#include "testing/paths.h"

namespace rp = brainsem::report;

namespace {
int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t i = s.find(what); i != std::string::npos; i = s.find(what, i + 1)) ++n;
  return n;
}
}  // namespace

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(rp::base64_encode(""), "");
  EXPECT_EQ(rp::base64_encode("f"), "Zg==");
  EXPECT_EQ(rp::base64_encode("fo"), "Zm8=");
  EXPECT_EQ(rp::base64_encode("foo"), "Zm9v");
  EXPECT_EQ(rp::base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(rp::base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(rp::base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(rp::base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(HtmlReport, EscapesEverythingItIsGiven) {
  EXPECT_EQ(rp::html_escape("<a href=\"x\">Tom & Jerry's</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
  rp::HtmlReport r("<script>alert(1)</script>");
  r.add_section("A & B");
  r.add_paragraph("x < y > z");
  r.add_table({"cap <i>", {"h\"1"}, {{"<b>cell</b>"}}, {}, "note & more"});
  r.add_manifest({{"config", "{\"lr\": 1e-4, \"name\": \"<x>\"}"}});
  auto h = r.html();
  EXPECT_EQ(h.find("<script>"), std::string::npos);
  EXPECT_EQ(h.find("<b>cell"), std::string::npos);
  EXPECT_EQ(h.find("<i>"), std::string::npos);
  EXPECT_NE(h.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(h.find("A &amp; B"), std::string::npos);
  EXPECT_NE(h.find("x &lt; y &gt; z"), std::string::npos);
  EXPECT_NE(h.find("{&quot;lr&quot;: 1e-4, &quot;name&quot;: &quot;&lt;x&gt;&quot;}"), std::string::npos);
}

TEST(HtmlReport, Formatting) {
  EXPECT_EQ(rp::format_number(0.12345, 3), "0.123");
  EXPECT_EQ(rp::format_percent(0.1234), "12.3");
  EXPECT_EQ(rp::format_interval(12.34, 10.0, 14.567, 1), "12.3 [10.0, 14.6]");
  EXPECT_EQ(rp::format_p(0.0004), "< 0.001");
  EXPECT_EQ(rp::format_p(0.0034), "0.003");
  EXPECT_EQ(rp::format_p(0.034), "0.03");
  EXPECT_EQ(rp::format_p(1.0), "1.00");
  EXPECT_EQ(rp::format_number(NAN), "nan");
}

TEST(HtmlReport, ContainsTablesFiguresAndManifest) {
  brainsem::testing::TempDir dir;
  brainsem::viz::ScatterPlot p;
  p.xy = torch::tensor({{0.0, 0.0}, {1.0, 1.0}});
  p.categories = {"biotic", "abiotic"};
  brainsem::viz::save_scatter(p, dir / "map.png");
  brainsem::viz::save_scatter(p, dir / "map.svg");

  rp::HtmlReport r("BrainSem results", "subject 1");
  r.add_section("Zero-shot accuracy");
  rp::Table t{"Top-k accuracy (%)",
              {"Subject", "Top-1", "Top-5", "p"},
              {{"S1", "12.0 [8.0, 16.0]", "40.0", "< 0.001"}, {"S2", "10.0", "38.0", "0.02"}},
              {{0, 1}},
              "95% bootstrap intervals"};
  r.add_table(t);
  r.add_section("Maps");
  r.add_figure(dir / "map.png", "t-SNE of brain embeddings");
  r.add_figure(dir / "map.svg", "ISOMAP");
  r.add_gallery({{dir / "map.png", "n01443537"}, {dir / "map.png", "n01443538"}}, "top-2");
  r.add_manifest({{"version", "0.1.0"}, {"seed", "0"}});
  r.save(dir / "report.html");
  auto h = brainsem::core::read_text_file(dir / "report.html");
  EXPECT_EQ(h.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(count(h, "<table"), 2);    // results + manifest
  EXPECT_EQ(count(h, "<tr>"), 3 + 2);  // header + 2 rows, 2 manifest rows
  EXPECT_NE(h.find("<td class=\"num\"><b>12.0 [8.0, 16.0]</b></td>"), std::string::npos);
  EXPECT_NE(h.find("<td class=\"num\">&lt; 0.001</td>"), std::string::npos);
  EXPECT_NE(h.find("<td>S1</td>"), std::string::npos);
  EXPECT_NE(h.find("Table 1. Top-k accuracy (%)"), std::string::npos);
  EXPECT_NE(h.find("Figure 2. ISOMAP"), std::string::npos);
  // Images are embedded, byte for byte, as data: URIs (no external references).
  auto png = brainsem::core::read_text_file(dir / "map.png");
  EXPECT_EQ(count(h, "data:image/png;base64," + rp::base64_encode(png)), 3);
  EXPECT_EQ(count(h, "data:image/svg+xml;base64,"), 1);
  EXPECT_EQ(h.find("src=\"/"), std::string::npos);
  EXPECT_EQ(count(h, "<a href=\"#sec"), 2);  // contents
  EXPECT_NE(h.find("<code>0.1.0</code>"), std::string::npos);
  // Bad input.
  EXPECT_THROW(r.add_table({"bad", {"a", "b"}, {{"1"}}, {}, ""}), brainsem::Error);
  EXPECT_THROW(r.add_figure(dir / "map.gif", "x"), brainsem::Error);
  EXPECT_THROW(r.add_figure(dir / "missing.png", "x"), brainsem::Error);
}
