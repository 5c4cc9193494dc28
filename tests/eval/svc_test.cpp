// The SVC of BraVL's protocol (libsvm) and the protocol itself, on cases whose answer is known by
// construction: separated clusters, queries at their centres.
#include "brainsem/eval/svc.h"

#include <gtest/gtest.h>

#include <cmath>

#include "brainsem/core/error.h"
#include "brainsem/eval/protocols.h"
#include "testing/errors.h"

using namespace brainsem::eval;

namespace {
constexpr double kPi = 3.14159265358979323846;

// Class c's centre: the unit vector at angle 2 pi c / 3 in the plane of the first two axes, padded
// with zeros to 4 dimensions.
torch::Tensor centre(int64_t c) {
  auto v = torch::zeros({4}, torch::kFloat64);
  v[0] = std::cos(2 * kPi * c / 3);
  v[1] = std::sin(2 * kPi * c / 3);
  return v;
}

// 12 rows per class around its centre (a fixed ring of radius 0.1), labels 0, 1, 2.
void clusters(torch::Tensor& x, std::vector<int64_t>& labels) {
  std::vector<torch::Tensor> rows;
  labels.clear();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < 12; ++i) {
      auto r = centre(c).clone();
      r[2] = 0.1 * std::cos(2 * kPi * i / 12);
      r[3] = 0.1 * std::sin(2 * kPi * i / 12);
      rows.push_back(r);
      labels.push_back(c);
    }
  x = torch::stack(rows);
}
}  // namespace

TEST(Svc, ScaleGammaIsScikitLearns) {
  // Entries 0,0, 2,0, 0,2, 2,2: mean 1, population variance 1, E = 2 -> gamma = 1 / (2 x 1).
  auto x = torch::tensor({0.0, 0.0, 2.0, 0.0, 0.0, 2.0, 2.0, 2.0}, torch::kFloat64).view({4, 2});
  EXPECT_DOUBLE_EQ(svc_scale_gamma(x), 0.5);
  EXPECT_THROW(svc_scale_gamma(torch::ones({3, 2}, torch::kFloat64)), brainsem::Error);
}

TEST(Svc, SeparatedClustersAreClassifiedWithProbabilitiesThatSumToOne) {
  torch::Tensor x;
  std::vector<int64_t> labels;
  clusters(x, labels);
  auto query = torch::stack({centre(0), centre(1), centre(2)});
  // 4 classes, the last without training rows: its column stays 0.
  auto fit = svc_class_probabilities(x, labels, 4, query, SvcConfig{});
  ASSERT_EQ(fit.probabilities.sizes(), (std::vector<int64_t>{3, 4}));
  EXPECT_GT(fit.gamma, 0);
  EXPECT_TRUE(torch::allclose(fit.probabilities.sum(1), torch::ones({3}, torch::kFloat64), 0, 1e-9));
  EXPECT_EQ(fit.probabilities.select(1, 3).abs().max().item<double>(), 0.0);
  for (int64_t c = 0; c < 3; ++c) {
    EXPECT_EQ(fit.probabilities[c].argmax().item<int64_t>(), c);
    EXPECT_GT(fit.probabilities[c][c].item<double>(), 0.5) << fit.probabilities;
  }
  // The same seed gives the same probabilities (libsvm's calibration folds come from rand()).
  auto again = svc_class_probabilities(x, labels, 4, query, SvcConfig{});
  EXPECT_TRUE(torch::equal(fit.probabilities, again.probabilities));
  // A given gamma is used as given.
  EXPECT_EQ(svc_class_probabilities(x, labels, 4, query, SvcConfig{2.5}).gamma, 2.5);
}

TEST(Svc, BadInputIsRefusedNamingTheProblem) {
  torch::Tensor x;
  std::vector<int64_t> labels;
  clusters(x, labels);
  auto q = centre(0).view({1, 4});
  using brainsem::testing::error_of;
  EXPECT_NE(error_of([&] { svc_class_probabilities(x, std::vector<int64_t>(36, 1), 3, q); }).find("two classes"),
            std::string::npos);
  EXPECT_NE(error_of([&] { svc_class_probabilities(x, labels, 2, q); }).find("outside [0, 2)"), std::string::npos);
  EXPECT_NE(error_of([&] {
              svc_class_probabilities(x, {0, 1}, 3, q);
            }).find("2 labels for 36 rows"),
            std::string::npos);
  auto nan = q.clone();
  nan[0][1] = std::nan("");
  EXPECT_NE(error_of([&] { svc_class_probabilities(x, labels, 3, nan); }).find("finite"), std::string::npos);
  EXPECT_NE(error_of([&] {
              svc_class_probabilities(x, labels, 3, torch::zeros({1, 3}));
            }).find("same width"),
            std::string::npos);
}

TEST(Protocols, BravlSvcClassificationScoresTopKByProbability) {
  torch::Tensor x;
  std::vector<int64_t> labels;
  clusters(x, labels);
  // Items 0 and 1 sit at their own class's centre; item 2 (truth 2) sits at class 0's centre. The
  // predictions' length is arbitrary (x 7): rows are L2-normalised first.
  auto predicted = torch::stack({centre(0), centre(1), centre(0)}) * 7.0;
  auto scores = svc_classification(predicted, x, labels, 3, {0, 1, 2}, SvcConfig{}, 0);
  ASSERT_EQ(scores.size(), 2u);
  EXPECT_EQ(scores[0].protocol, "bravl");
  EXPECT_EQ(scores[0].metric.rfind("3-way SVC top-1 (gamma ", 0), 0u) << scores[0].metric;
  EXPECT_NEAR(scores[0].value, 2.0 / 3.0, 1e-12);  // items 0 and 1 right, item 2 wrong
  EXPECT_NEAR(scores[0].chance, 1.0 / 3.0, 1e-12);
  // Hits are binary: exact binomial, P(X >= 2 | n 3, p 1/3) = 3 (1/3)^2 (2/3) + (1/3)^3 = 7/27.
  EXPECT_NEAR(scores[0].p_value, 7.0 / 27.0, 1e-12);
  EXPECT_EQ(scores[0].trials, 3);
  EXPECT_NEAR(scores[1].value, 1.0, 1e-12);  // top-5 among 3 classes: always
  EXPECT_EQ(scores[1].chance, 1.0);
  // A prediction of all zeros has no direction; it still gets a defined score (not NaN).
  auto flat = svc_classification(torch::zeros({1, 4}, torch::kFloat64), x, labels, 3, {0}, SvcConfig{}, 0);
  EXPECT_TRUE(flat[0].value == 0.0 || flat[0].value == 1.0) << flat[0].value;
  EXPECT_THROW(svc_classification(predicted, x, labels, 3, {0, 1}, SvcConfig{}, 0), brainsem::Error);
  EXPECT_THROW(svc_classification(predicted, x, labels, 3, {0, 1, 3}, SvcConfig{}, 0), brainsem::Error);
}
