#pragma once
// A one-line progress bar on stderr: done/total, rate, ETA and a free-form status (e.g. loss).
// On a terminal it redraws in place; otherwise (logs, CI) it prints a line every few seconds.
#include <chrono>
#include <cstdint>
#include <string>

namespace brainsem::core {

class Progress {
 public:
  Progress(std::string label, int64_t total, std::string unit = "it");
  // Advances to `done` items; `status` is appended to the line. Cheap when nothing is drawn.
  void update(int64_t done, const std::string& status = "");
  // Draws the final line and a newline.
  void finish(const std::string& status = "");
  static void set_quiet(bool quiet);  // --quiet: draw nothing
  // A one-line status on stderr (e.g. "[3/15] training DIR"), silenced by --quiet like the bars.
  static void status(const std::string& line);

 private:
  void draw(int64_t done, const std::string& status, bool final);
  std::string label_, unit_;
  int64_t total_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool tty_;
  bool finished_ = false;
};

}  // namespace brainsem::core
