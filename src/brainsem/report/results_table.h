#pragma once
// Plain-text tables of zero-shot results, in the shape of the paper's Table 1: one row per
// method, top-1/top-5 per subject, then mean ± sd over subjects.
#include <map>
#include <string>
#include <vector>

#include "brainsem/train/study.h"

namespace brainsem::report {

// Scores of one subject, e.g. {"Subject1", [...]}.
struct SubjectScores {
  std::string subject;
  std::vector<train::MethodScore> scores;
};

// Table 1: rows = (method, prototype) pairs in first-seen order, columns = subjects + mean ± sd.
std::string format_table1(const std::vector<SubjectScores>& subjects, const std::string& prototype);
// One subject's scores with p-values and bootstrap intervals.
std::string format_subject_scores(const std::vector<train::MethodScore>& scores);
// The same content as CSV (subject, method, prototype, top1, top5, ci, p, mean_rank).
std::string scores_csv(const std::vector<SubjectScores>& subjects);

}  // namespace brainsem::report
