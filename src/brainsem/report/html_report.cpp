#include "brainsem/report/html_report.h"

#include <cctype>
#include <cmath>
#include <cstdio>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "brainsem/report/base64.h"

namespace fs = std::filesystem;

namespace brainsem::report {

namespace {

const char* kCss = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1100px;
 padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:.1em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
.subtitle{color:#666;margin-top:0}
table{border-collapse:collapse;margin:1em 0}caption{text-align:left;font-weight:600;padding:.3em 0}
th,td{border-bottom:1px solid #e3e3e3;padding:.3em .8em;text-align:left;vertical-align:top}
th{background:#f5f5f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{font-size:.85em;color:#666}figure{margin:1.2em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.9em;color:#444}.gallery{display:flex;flex-wrap:wrap;gap:.6em}
.gallery figure{margin:0;width:128px}.gallery img{width:128px;height:128px;object-fit:cover}
table.manifest td:first-child{font-weight:600;white-space:nowrap}code{font-size:.9em;word-break:break-all}
)";

// A cell is numeric (right-aligned) when it starts like a number: "12.3", "-0.5", "< 0.001".
bool looks_numeric(const std::string& s) {
  size_t i = s.rfind("< ", 0) == 0 ? 2 : 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  return i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.');
}

std::string mime_of(const fs::path& file) {
  std::string ext = file.extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".png") return "image/png";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  fail("report: cannot embed ", file, ": unknown image type; use .png, .svg or .jpg");
}

std::string data_uri(std::string_view bytes, const std::string& mime) {
  return "data:" + mime + ";base64," + base64_encode(bytes);
}

std::string anchor(size_t i) { return "sec" + std::to_string(i + 1); }

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  return out;
}

std::string format_number(double v, int decimals) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string format_percent(double fraction, int decimals) { return format_number(100 * fraction, decimals); }

std::string format_interval(double estimate, double lo, double hi, int decimals) {
  return format_number(estimate, decimals) + " [" + format_number(lo, decimals) + ", " + format_number(hi, decimals) +
         "]";
}

std::string format_p(double p) {
  if (std::isnan(p)) return "nan";
  if (p < 0.001) return "< 0.001";
  return format_number(p, p < 0.01 ? 3 : 2);
}

HtmlReport::HtmlReport(std::string title, std::string subtitle)
    : title_(std::move(title)), subtitle_(std::move(subtitle)) {}

void HtmlReport::add_section(const std::string& heading) {
  body_ += "<h2 id=\"" + anchor(sections_.size()) + "\">" + html_escape(heading) + "</h2>\n";
  sections_.push_back(heading);
}

void HtmlReport::add_paragraph(const std::string& text) { body_ += "<p>" + html_escape(text) + "</p>\n"; }

void HtmlReport::add_table(const Table& t) {
  for (size_t r = 0; r < t.rows.size(); ++r)
    BRAINSEM_CHECK(t.header.empty() || t.rows[r].size() == t.header.size(), "report table '", t.caption, "': row ", r,
                   " has ", t.rows[r].size(), " cells but the header has ", t.header.size());
  ++tables_;
  std::string h = "<table>\n";
  if (!t.caption.empty())
    h += "<caption>Table " + std::to_string(tables_) + ". " + html_escape(t.caption) + "</caption>\n";
  if (!t.header.empty()) {
    h += "<thead><tr>";
    for (const auto& c : t.header) h += "<th>" + html_escape(c) + "</th>";
    h += "</tr></thead>\n";
  }
  h += "<tbody>\n";
  for (size_t r = 0; r < t.rows.size(); ++r) {
    h += "<tr>";
    for (size_t c = 0; c < t.rows[r].size(); ++c) {
      const std::string& cell = t.rows[r][c];
      std::string text = html_escape(cell);
      if (t.bold.count({r, c})) text = "<b>" + text + "</b>";
      h += (looks_numeric(cell) ? "<td class=\"num\">" : "<td>") + text + "</td>";
    }
    h += "</tr>\n";
  }
  h += "</tbody></table>\n";
  if (!t.note.empty()) h += "<p class=\"note\">" + html_escape(t.note) + "</p>\n";
  body_ += h;
}

void HtmlReport::add_figure(const fs::path& image, const std::string& caption) {
  std::string mime = mime_of(image);
  add_figure_bytes(core::read_text_file(image), mime, caption);
}

void HtmlReport::add_figure_bytes(std::string_view bytes, const std::string& mime, const std::string& caption) {
  BRAINSEM_CHECK(!bytes.empty(), "report: figure '", caption, "' has no image data");
  ++figures_;
  body_ += "<figure><img src=\"" + data_uri(bytes, mime) + "\" alt=\"" + html_escape(caption) +
           "\"><figcaption>Figure " + std::to_string(figures_) + ". " + html_escape(caption) +
           "</figcaption></figure>\n";
}

void HtmlReport::add_gallery(const std::vector<Thumbnail>& thumbnails, const std::string& caption) {
  std::string h = "<div class=\"gallery\">";
  for (const auto& t : thumbnails)
    h += "<figure><img src=\"" + data_uri(core::read_text_file(t.image), mime_of(t.image)) + "\" alt=\"" +
         html_escape(t.caption) + "\"><figcaption>" + html_escape(t.caption) + "</figcaption></figure>";
  h += "</div>\n";
  if (!caption.empty()) h += "<p class=\"note\">" + html_escape(caption) + "</p>\n";
  body_ += h;
}

void HtmlReport::add_manifest(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string h = "<table class=\"manifest\"><tbody>\n";
  for (const auto& [k, v] : entries)
    h += "<tr><td>" + html_escape(k) + "</td><td><code>" + html_escape(v) + "</code></td></tr>\n";
  body_ += h + "</tbody></table>\n";
}

std::string HtmlReport::html() const {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>" +
      html_escape(title_) + "</title>\n<style>" + kCss + "</style>\n</head>\n<body>\n<h1>" + html_escape(title_) +
      "</h1>\n";
  if (!subtitle_.empty()) h += "<p class=\"subtitle\">" + html_escape(subtitle_) + "</p>\n";
  if (sections_.size() > 1) {
    h += "<nav><ol>";
    for (size_t i = 0; i < sections_.size(); ++i)
      h += "<li><a href=\"#" + anchor(i) + "\">" + html_escape(sections_[i]) + "</a></li>";
    h += "</ol></nav>\n";
  }
  return h + body_ + "</body>\n</html>\n";
}

void HtmlReport::save(const fs::path& file) const { core::write_text_atomically(file, html()); }

}  // namespace brainsem::report
