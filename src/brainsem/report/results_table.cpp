#include "brainsem/report/results_table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace brainsem::report {

namespace {
std::string pct(double x) {
  char b[16];
  std::snprintf(b, sizeof b, "%.1f", 100 * x);
  return b;
}
std::string pad(const std::string& s, size_t w) { return s.size() >= w ? s : s + std::string(w - s.size(), ' '); }
std::string lpad(const std::string& s, size_t w) { return s.size() >= w ? s : std::string(w - s.size(), ' ') + s; }
}  // namespace

std::string format_table1(const std::vector<SubjectScores>& subjects, const std::string& prototype) {
  std::vector<std::string> methods;
  for (const auto& s : subjects)
    for (const auto& m : s.scores)
      if (m.prototype == prototype && std::find(methods.begin(), methods.end(), m.method) == methods.end())
        methods.push_back(m.method);
  std::ostringstream os;
  os << "Zero-shot top-1 / top-5 (%) over " << (subjects.empty() || subjects[0].scores.empty() ? 0 : subjects[0].scores[0].classes)
     << " unseen classes, prototypes: " << prototype << "\n";
  os << pad("method", 20);
  for (const auto& s : subjects) os << lpad(s.subject, 14);
  os << lpad("mean ± sd", 24) << "\n";
  for (const auto& method : methods) {
    os << pad(method, 20);
    std::vector<double> t1, t5;
    for (const auto& s : subjects) {
      const train::MethodScore* hit = nullptr;
      for (const auto& m : s.scores)
        if (m.method == method && m.prototype == prototype) hit = &m;
      if (hit == nullptr) {
        os << lpad("-", 14);
        continue;
      }
      t1.push_back(hit->top1);
      t5.push_back(hit->top5);
      os << lpad(pct(hit->top1) + " / " + pct(hit->top5), 14);
    }
    auto ms = [](const std::vector<double>& v, double& mean, double& sd) {
      mean = 0;
      for (double x : v) mean += x / v.size();
      sd = 0;
      for (double x : v) sd += (x - mean) * (x - mean);
      sd = v.size() > 1 ? std::sqrt(sd / (v.size() - 1)) : 0;
    };
    double m1, s1, m5, s5;
    ms(t1, m1, s1);
    ms(t5, m5, s5);
    os << lpad(pct(m1) + "±" + pct(s1) + " / " + pct(m5) + "±" + pct(s5), 24) << "\n";
  }
  if (!subjects.empty() && !subjects[0].scores.empty())
    os << pad("chance", 20) << lpad(pct(subjects[0].scores[0].chance_top1) + " / " + pct(subjects[0].scores[0].chance_top5), 14) << "\n";
  return os.str();
}

std::string format_subject_scores(const std::vector<train::MethodScore>& scores) {
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
  return os.str();
}

std::string scores_csv(const std::vector<SubjectScores>& subjects) {
  std::ostringstream os;
  os << "subject,method,prototype,n,classes,top1,top1_ci_lo,top1_ci_hi,p_top1,top5,top5_ci_lo,top5_ci_hi,p_top5,mean_rank\n";
  for (const auto& s : subjects)
    for (const auto& m : s.scores)
      os << s.subject << "," << m.method << "," << m.prototype << "," << m.n << "," << m.classes << "," << m.top1 << ","
         << m.ci_top1.lo << "," << m.ci_top1.hi << "," << m.p_top1 << "," << m.top5 << "," << m.ci_top5.lo << ","
         << m.ci_top5.hi << "," << m.p_top5 << "," << m.mean_rank << "\n";
  return os.str();
}

}  // namespace brainsem::report
