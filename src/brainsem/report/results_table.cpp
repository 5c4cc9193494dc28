#include "brainsem/report/results_table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "brainsem/eval/stats.h"

namespace brainsem::report {

namespace {
std::string pct(double x) {
  char b[16];
  std::snprintf(b, sizeof b, "%.1f", 100 * x);
  return b;
}
// Columns are counted in characters, not bytes ("±" is two bytes in UTF-8).
size_t display_width(const std::string& s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}
std::string pad(const std::string& s, size_t w) {
  const size_t n = display_width(s);
  return n >= w ? s + " " : s + std::string(w - n, ' ');
}
// Right-aligned; a value as wide as its column still gets one space before it.
std::string lpad(const std::string& s, size_t w) {
  const size_t n = display_width(s);
  return n >= w ? " " + s : std::string(w - n, ' ') + s;
}
}  // namespace

nlohmann::json SubjectMean::to_json() const {
  auto ci = [](const std::optional<eval::Interval>& i) {
    return i ? nlohmann::json::array({i->lo, i->hi}) : nlohmann::json(nullptr);
  };
  return nlohmann::json{{"method", method},       {"prototype", prototype}, {"subjects", subjects},
                        {"top1_mean", top1.mean}, {"top1_sd", top1.sd},     {"top1_t_ci95", ci(ci_top1)},
                        {"top5_mean", top5.mean}, {"top5_sd", top5.sd},     {"top5_t_ci95", ci(ci_top5)},
                        {"mean_rank", mean_rank}};
}

std::vector<SubjectMean> subject_means(const std::vector<SubjectScores>& subjects) {
  std::vector<std::pair<std::string, std::string>> keys;
  for (const auto& s : subjects)
    for (const auto& m : s.scores)
      if (std::find(keys.begin(), keys.end(), std::make_pair(m.method, m.prototype)) == keys.end())
        keys.push_back({m.method, m.prototype});
  std::vector<SubjectMean> out;
  for (const auto& [method, prototype] : keys) {
    std::vector<double> t1, t5;
    double rank_sum = 0;
    for (const auto& s : subjects)
      for (const auto& m : s.scores)
        if (m.method == method && m.prototype == prototype) {
          t1.push_back(m.top1);
          t5.push_back(m.top5);
          rank_sum += m.mean_rank;
          break;
        }
    SubjectMean r;
    r.method = method;
    r.prototype = prototype;
    r.subjects = static_cast<int64_t>(t1.size());
    auto v1 = torch::tensor(t1, torch::kFloat64), v5 = torch::tensor(t5, torch::kFloat64);
    r.top1 = eval::mean_sd(v1);
    r.top5 = eval::mean_sd(v5);
    if (r.subjects >= 2) {
      r.ci_top1 = eval::t_mean_ci(v1, 0.95);
      r.ci_top5 = eval::t_mean_ci(v5, 0.95);
    }
    r.mean_rank = rank_sum / static_cast<double>(r.subjects);
    out.push_back(r);
  }
  return out;
}

nlohmann::json subject_means_json(const std::vector<SubjectScores>& subjects) {
  auto a = nlohmann::json::array();
  for (const auto& m : subject_means(subjects)) a.push_back(m.to_json());
  return a;
}

std::string format_table1(const std::vector<SubjectScores>& subjects, const std::string& prototype) {
  std::vector<std::string> methods;
  for (const auto& s : subjects)
    for (const auto& m : s.scores)
      if (m.prototype == prototype && std::find(methods.begin(), methods.end(), m.method) == methods.end())
        methods.push_back(m.method);
  std::ostringstream os;
  os << "Zero-shot top-1 / top-5 (%) over "
     << (subjects.empty() || subjects[0].scores.empty() ? 0 : subjects[0].scores[0].classes)
     << " unseen classes, prototypes: " << prototype << "\n";
  os << pad("method", 20);
  for (const auto& s : subjects) os << lpad(s.subject, 14);
  os << lpad("mean ± sd", 24) << lpad("95% t-interval over subjects", 32) << "\n";
  const auto means = subject_means(subjects);
  for (const auto& method : methods) {
    os << pad(method, 20);
    for (const auto& s : subjects) {
      const experiment::MethodScore* hit = nullptr;
      for (const auto& m : s.scores)
        if (m.method == method && m.prototype == prototype) hit = &m;
      if (hit == nullptr) {
        os << lpad("-", 14);
        continue;
      }
      os << lpad(pct(hit->top1) + " / " + pct(hit->top5), 14);
    }
    const SubjectMean* mean = nullptr;
    for (const auto& m : means)
      if (m.method == method && m.prototype == prototype) mean = &m;
    os << lpad(
        pct(mean->top1.mean) + "±" + pct(mean->top1.sd) + " / " + pct(mean->top5.mean) + "±" + pct(mean->top5.sd), 24);
    if (mean->ci_top1) {
      std::ostringstream ci;
      ci << "[" << pct(mean->ci_top1->lo) << ", " << pct(mean->ci_top1->hi) << "] / [" << pct(mean->ci_top5->lo) << ", "
         << pct(mean->ci_top5->hi) << "]";
      os << lpad(ci.str(), 32);
    }
    os << "\n";
  }
  if (!subjects.empty() && !subjects[0].scores.empty())
    os << pad("chance", 20)
       << lpad(pct(subjects[0].scores[0].chance_top1) + " / " + pct(subjects[0].scores[0].chance_top5), 14) << "\n";
  return os.str();
}

std::string format_subject_scores(const std::vector<experiment::MethodScore>& scores) {
  std::ostringstream os;
  os << pad("method", 20) << pad("prototype", 10) << lpad("top-1 %", 9) << lpad("95% CI", 14) << lpad("p", 10)
     << lpad("top-5 %", 9) << lpad("p", 10) << lpad("mean rank", 11) << "\n";
  for (const auto& m : scores) {
    char p1[16], p5[16], rank[16];
    std::snprintf(p1, sizeof p1, "%.1e", m.p_top1);
    std::snprintf(p5, sizeof p5, "%.1e", m.p_top5);
    std::snprintf(rank, sizeof rank, "%.1f", m.mean_rank);
    os << pad(m.method, 20) << pad(m.prototype, 10) << lpad(pct(m.top1), 9)
       << lpad("[" + pct(m.ci_top1.lo) + ", " + pct(m.ci_top1.hi) + "]", 14) << lpad(p1, 10) << lpad(pct(m.top5), 9)
       << lpad(p5, 10) << lpad(rank, 11) << "\n";
  }
  // Method notes (the ridge's chosen alpha), once per method.
  std::vector<std::string> noted;
  for (const auto& m : scores)
    if (!m.note.empty() && std::find(noted.begin(), noted.end(), m.method) == noted.end()) {
      noted.push_back(m.method);
      os << m.method << ": " << m.note << "\n";
    }
  return os.str();
}

std::string scores_csv(const std::vector<SubjectScores>& subjects) {
  std::ostringstream os;
  os << "subject,method,prototype,n,classes,top1,top1_ci_lo,top1_ci_hi,p_top1,top5,top5_ci_lo,top5_ci_hi,p_top5,mean_"
        "rank\n";
  for (const auto& s : subjects)
    for (const auto& m : s.scores)
      os << s.subject << "," << m.method << "," << m.prototype << "," << m.n << "," << m.classes << "," << m.top1 << ","
         << m.ci_top1.lo << "," << m.ci_top1.hi << "," << m.p_top1 << "," << m.top5 << "," << m.ci_top5.lo << ","
         << m.ci_top5.hi << "," << m.p_top5 << "," << m.mean_rank << "\n";
  if (subjects.size() >= 2)
    for (const auto& m : subject_means(subjects)) {
      if (!m.ci_top1) continue;  // a method only one subject has
      const int64_t classes = [&] {
        for (const auto& s : subjects)
          for (const auto& x : s.scores)
            if (x.method == m.method && x.prototype == m.prototype) return x.classes;
        return int64_t{0};
      }();
      os << "mean," << m.method << "," << m.prototype << "," << m.subjects << "," << classes << "," << m.top1.mean
         << "," << m.ci_top1->lo << "," << m.ci_top1->hi << ",," << m.top5.mean << "," << m.ci_top5->lo << ","
         << m.ci_top5->hi << ",," << m.mean_rank << "\n";
    }
  return os.str();
}

}  // namespace brainsem::report
