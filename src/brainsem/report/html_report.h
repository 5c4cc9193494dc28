#pragma once
// A self-contained HTML page: inline CSS, figures embedded as base64 data: URIs
// (PNG, SVG, JPEG), so the one file can be mailed or archived and still shows everything.
// All text is HTML-escaped; nothing the caller passes is emitted as markup.
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace brainsem::report {

// Escapes & < > " ' for use in element text and attribute values.
std::string html_escape(std::string_view text);

// Number formatting for table cells.
std::string format_number(double v, int decimals = 2);                                 // "0.12"; "nan" / "inf"
std::string format_percent(double fraction, int decimals = 1);                         // 0.1234 -> "12.3"
std::string format_interval(double estimate, double lo, double hi, int decimals = 2);  // "a [lo, hi]"
std::string format_p(double p);                                                        // "< 0.001", "0.034", "1.00"

struct Table {
  std::string caption;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each row has header.size() cells
  std::set<std::pair<size_t, size_t>> bold;    // (row, column) cells to bold, e.g. the best
  std::string note;                            // small print under the table
};

struct Thumbnail {
  std::filesystem::path image;  // PNG, JPEG or SVG file
  std::string caption;
};

class HtmlReport {
 public:
  explicit HtmlReport(std::string title, std::string subtitle = "");

  void add_section(const std::string& heading);  // also listed in the contents at the top
  void add_paragraph(const std::string& text);
  void add_table(const Table& table);
  // Embeds an image file (by extension: .png, .svg, .jpg/.jpeg) with a caption.
  void add_figure(const std::filesystem::path& image, const std::string& caption);
  // Embeds image bytes already in memory; mime e.g. "image/png".
  void add_figure_bytes(std::string_view bytes, const std::string& mime, const std::string& caption);
  // A row of small images with captions (retrieval examples, Fig. 3).
  void add_gallery(const std::vector<Thumbnail>& thumbnails, const std::string& caption = "");
  // Two-column key/value table (program version, config, hashes, seeds, hardware, timings).
  void add_manifest(const std::vector<std::pair<std::string, std::string>>& entries);

  std::string html() const;
  void save(const std::filesystem::path& file) const;  // atomic

 private:
  std::string title_, subtitle_;
  std::vector<std::string> sections_;  // headings, for the contents
  std::string body_;
  int figures_ = 0, tables_ = 0;
};

}  // namespace brainsem::report
