#include "brainsem/core/progress.h"

#include <unistd.h>

#include <cstdio>

namespace brainsem::core {

namespace {
bool g_quiet = false;

std::string format_seconds(double s) {
  if (s < 0 || s > 1e7) return "?";
  char buf[32];
  int total = static_cast<int>(s + 0.5);
  if (total >= 3600)
    std::snprintf(buf, sizeof buf, "%dh%02dm", total / 3600, (total / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%dm%02ds", total / 60, total % 60);
  return buf;
}
}  // namespace

void Progress::set_quiet(bool quiet) { g_quiet = quiet; }

void Progress::status(const std::string& line) {
  if (!g_quiet) std::fprintf(stderr, "%s\n", line.c_str());
}

Progress::Progress(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_),
      tty_(isatty(STDERR_FILENO)) {}

void Progress::update(int64_t done, const std::string& status) {
  if (g_quiet || finished_) return;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since < (tty_ ? 0.2 : 10.0)) return;
  last_draw_ = now;
  draw(done, status, false);
}

void Progress::finish(const std::string& status) {
  if (g_quiet || finished_) return;
  finished_ = true;
  draw(total_, status, true);
}

void Progress::draw(int64_t done, const std::string& status, bool final) {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = elapsed > 0 ? done / elapsed : 0;
  double eta = rate > 0 ? (total_ - done) / rate : -1;
  int pct = total_ > 0 ? static_cast<int>(100.0 * done / total_) : 100;
  char bar[21];
  int filled = pct / 5;
  for (int i = 0; i < 20; ++i) bar[i] = i < filled ? '#' : '.';
  bar[20] = 0;
  std::fprintf(stderr, "%s%s [%s] %3d%% %lld/%lld %.1f %s/s %s %s%s", tty_ ? "\r\033[K" : "", label_.c_str(), bar, pct,
               static_cast<long long>(done), static_cast<long long>(total_), rate, unit_.c_str(),
               final ? ("in " + format_seconds(elapsed)).c_str() : ("ETA " + format_seconds(eta)).c_str(),
               status.c_str(), (final || !tty_) ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace brainsem::core
