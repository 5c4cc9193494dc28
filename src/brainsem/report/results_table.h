#pragma once
// Plain-text tables of zero-shot results, in the shape of the paper's Table 1: one row per
// method, top-1/top-5 per subject, then mean ± sd over subjects and its 95 % Student-t interval.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "brainsem/experiment/study.h"

namespace brainsem::report {

// Scores of one subject, e.g. {"Subject1", [...]}.
struct SubjectScores {
  std::string subject;
  std::vector<experiment::MethodScore> scores;
};

// The mean over subjects of one (method, prototype) pair. The interval is Student's t over the
// subjects (n - 1 degrees of freedom): with 5 subjects a percentile bootstrap over the 5 values
// would cover only about 84 % at a nominal 95 %. Intervals over test items stay per subject.
struct SubjectMean {
  std::string method, prototype;
  int64_t subjects = 0;
  eval::MeanSd top1, top5;
  std::optional<eval::Interval> ci_top1, ci_top5;  // 95 %; absent with fewer than 2 subjects
  double mean_rank = 0;                            // mean of the subjects' mean ranks
  nlohmann::json to_json() const;
};
// One entry per (method, prototype) pair in first-seen order, over the subjects that have it.
std::vector<SubjectMean> subject_means(const std::vector<SubjectScores>& subjects);
nlohmann::json subject_means_json(const std::vector<SubjectScores>& subjects);

// Table 1: rows = (method, prototype) pairs in first-seen order, columns = subjects + mean ± sd
// and the 95 % t-interval over subjects.
std::string format_table1(const std::vector<SubjectScores>& subjects, const std::string& prototype);
// One subject's scores with p-values and bootstrap intervals.
std::string format_subject_scores(const std::vector<experiment::MethodScore>& scores);
// The same content as CSV (subject, method, prototype, top1, top5, ci, p, mean_rank), then with
// several subjects one row per (method, prototype) with subject "mean": n = the number of subjects,
// the ci columns the 95 % t-interval over subjects, p empty.
std::string scores_csv(const std::vector<SubjectScores>& subjects);

}  // namespace brainsem::report
