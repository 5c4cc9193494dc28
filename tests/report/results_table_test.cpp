// Means over subjects: mean ± sd and the 95 % Student-t interval (text, JSON, CSV).
#include "brainsem/report/results_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

using namespace brainsem::report;

namespace {
brainsem::experiment::MethodScore score(const std::string& method, double top1, double top5) {
  brainsem::experiment::MethodScore m;
  m.method = method;
  m.prototype = "stimulus";
  m.n = 50;
  m.classes = 50;
  m.top1 = top1;
  m.top5 = top5;
  m.mean_rank = 3;
  return m;
}
}  // namespace

TEST(ResultsTable, MeanOverSubjectsHasAStudentTInterval) {
  // The README's demo row: top-1 54, 46, 64, 66, 62 %, top-5 76, 86, 92, 92, 92 %.
  const double t1[] = {0.54, 0.46, 0.64, 0.66, 0.62}, t5[] = {0.76, 0.86, 0.92, 0.92, 0.92};
  std::vector<SubjectScores> subjects;
  for (int s = 0; s < 5; ++s)
    subjects.push_back({"Subject" + std::to_string(s + 1), {score("brainsem", t1[s], t5[s])}});
  subjects[0].scores.push_back(score("only-one", 0.1, 0.2));  // a method of one subject: no interval
  auto means = subject_means(subjects);
  ASSERT_EQ(means.size(), 2u);
  const auto& m = means[0];
  EXPECT_EQ(m.subjects, 5);
  // top-1: mean 0.584, sd 0.0829458, half-width t_{0.975,4} sd / sqrt 5 = 2.776445 * 0.0370945 = 0.102991.
  EXPECT_NEAR(m.top1.mean, 0.584, 1e-12);
  EXPECT_NEAR(m.top1.sd, 0.0829458, 1e-6);
  ASSERT_TRUE(m.ci_top1 && m.ci_top5);
  EXPECT_NEAR(m.ci_top1->lo, 0.481009, 1e-6);
  EXPECT_NEAR(m.ci_top1->hi, 0.686991, 1e-6);
  // top-5: mean 0.876, sd 0.0698570: [0.789261, 0.962739].
  EXPECT_NEAR(m.ci_top5->lo, 0.789261, 1e-6);
  EXPECT_NEAR(m.ci_top5->hi, 0.962739, 1e-6);
  EXPECT_EQ(means[1].subjects, 1);
  EXPECT_FALSE(means[1].ci_top1.has_value());
  auto j = subject_means_json(subjects);
  EXPECT_NEAR(j[0]["top1_t_ci95"][0].get<double>(), 0.481009, 1e-6);
  EXPECT_TRUE(j[1]["top1_t_ci95"].is_null());
  auto table = format_table1(subjects, "stimulus");
  EXPECT_NE(table.find("58.4±8.3 / 87.6±7.0"), std::string::npos) << table;
  EXPECT_NE(table.find("[48.1, 68.7] / [78.9, 96.3]"), std::string::npos) << table;
  // CSV: one "mean" row per pair with an interval; n = subjects, p empty.
  auto csv = scores_csv(subjects);
  EXPECT_NE(csv.find("mean,brainsem,stimulus,5,50,0.584,0.481009"), std::string::npos) << csv;
  EXPECT_EQ(csv.find("mean,only-one"), std::string::npos) << csv;
}

TEST(ResultsTable, FullWidthCellsStaySeparated) {
  // 100 % with a CI of [100, 100] fills its column exactly; it must not run into its neighbour.
  auto m = score("oracle", 1.0, 1.0);
  m.ci_top1.lo = m.ci_top1.hi = 1.0;
  const auto text = format_subject_scores({m});
  EXPECT_EQ(text.find("100.0["), std::string::npos) << text;
  EXPECT_NE(text.find("100.0 [100.0, 100.0]"), std::string::npos) << text;
  // "±" is one character: each row of the means table lines up with the header.
  std::vector<SubjectScores> subjects{{"Subject1", {score("brainsem", 0.2, 0.5)}},
                                      {"Subject2", {score("brainsem", 0.3, 0.6)}}};
  std::istringstream lines(format_table1(subjects, "stimulus"));
  std::string title, header, row;
  std::getline(lines, title);
  std::getline(lines, header);
  std::getline(lines, row);
  auto chars = [](const std::string& s) {
    return std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
  };
  EXPECT_EQ(chars(header), chars(row)) << header << "\n" << row;
}
