// The ensemble of trained runs: the mean of unit-length predictions, checked against a hand-computed
// case, and the refusals.
#include "brainsem/experiment/ensemble.h"

#include <gtest/gtest.h>

#include "brainsem/core/error.h"

namespace brainsem::experiment {
namespace {

TEST(EnsembleEmbedding, IsTheMeanOfUnitLengthPredictions) {
  // Two members of very different scales: without normalising, the second would decide alone.
  auto a = torch::tensor({{3.0, 4.0}, {0.0, 2.0}}, torch::kFloat32);
  auto b = torch::tensor({{0.0, 100.0}, {-50.0, 0.0}}, torch::kFloat32);
  auto e = ensemble_embedding({a, b});
  ASSERT_EQ(e.dtype(), torch::kFloat32);
  ASSERT_EQ(e.sizes(), a.sizes());
  // (a / |a| + b / |b|) / 2 row by row: ((0.6, 0.8) + (0, 1)) / 2 and ((0, 1) + (-1, 0)) / 2.
  const float want[2][2] = {{0.3f, 0.9f}, {-0.5f, 0.5f}};
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) EXPECT_NEAR(e[i][j].item<float>(), want[i][j], 1e-7) << i << "," << j;
  // One member is that member, normalised: the same cosine ranking.
  auto one = ensemble_embedding({b});
  EXPECT_TRUE(torch::allclose(one, torch::tensor({{0.0, 1.0}, {-1.0, 0.0}}, torch::kFloat32)));
}

TEST(EnsembleEmbedding, RefusesNoMembersAndMismatchedShapes) {
  EXPECT_THROW(ensemble_embedding({}), Error);
  try {
    ensemble_embedding({torch::zeros({5, 4}), torch::zeros({5, 3})});
    FAIL() << "shapes [5, 4] and [5, 3] were averaged";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("differ in shape"), std::string::npos) << e.what();
  }
}

TEST(EnsembleTestSet, RefusesAMemberWithOtherTestData) {
  LoadedStudy a, b;
  a.test_classes = b.test_classes = {"owl", "cat"};
  a.test_truth = b.test_truth = {0, 1};
  a.subject.test_x = torch::arange(12, torch::kFloat32).reshape({2, 3, 2});  // [N_test, R, P]
  b.subject.test_x = a.subject.test_x.clone();
  EXPECT_NO_THROW(check_same_test_set(a, b, "runA", "runB"));
  b.subject.test_x[1][2][1] = 0.5f;  // other normalisation or subject: one value differs
  try {
    check_same_test_set(a, b, "runA", "runB");
    FAIL() << "a member with other test fMRI was accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("runB"), std::string::npos) << msg;
    EXPECT_NE(msg.find("runA"), std::string::npos) << msg;
  }
  b.subject.test_x = a.subject.test_x.index({torch::indexing::Slice(), torch::indexing::Slice(0, 2)});  // fewer ROIs
  EXPECT_THROW(check_same_test_set(a, b, "runA", "runB"), Error);
  b.subject.test_x = a.subject.test_x.clone();
  b.test_classes = {"cat", "owl"};
  EXPECT_THROW(check_same_test_set(a, b, "runA", "runB"), Error);
}

}  // namespace
}  // namespace brainsem::experiment
