// Zero-shot scoring (eval/zero_shot.h): ranks, top-k and prototypes against a hand-computed
// case, and non-finite predictions.
#include "brainsem/eval/zero_shot.h"

#include <gtest/gtest.h>

#include <limits>

namespace ev = brainsem::eval;

TEST(ZeroShot, HandComputedRanksTopkAndPrototypes) {
  // Six classes on the axes of R^6; each prediction's cosine with class c is its c-th coordinate
  // over its norm, so the true class's rank is read off by hand.
  auto protos = torch::eye(6);
  auto pred = torch::tensor({{0.9, 0.1, 0.0, 0.0, 0.0, 0.0},   // truth 0: rank 1
                             {0.5, 0.4, 0.3, 0.2, 0.1, 0.6},   // truth 4: rank 6
                             {0.6, 0.5, 0.4, 0.3, 0.2, 0.1}},  // truth 3: rank 4
                            torch::kFloat32);
  auto r = ev::zero_shot(pred, protos, {0, 4, 3});
  EXPECT_EQ(r.rank, (std::vector<int64_t>{1, 6, 4}));
  EXPECT_EQ(r.predicted, (std::vector<int64_t>{0, 5, 0}));
  EXPECT_NEAR(r.top1, 1.0 / 3, 1e-12);
  EXPECT_NEAR(r.top5, 2.0 / 3, 1e-12);
  EXPECT_NEAR(r.mean_rank, 11.0 / 3, 1e-12);
  // Prototypes: the normalised mean of each class's normalised rows (the raw mean of class 0's
  // rows would point at [0.97, 0.24]).
  auto feats = torch::tensor({{4.0, 0.0}, {0.0, 1.0}, {1.0, 1.0}}, torch::kFloat32);
  auto p = ev::class_prototypes(feats, {0, 0, 1}, 2);
  EXPECT_TRUE(torch::allclose(p, torch::tensor({{0.70710678, 0.70710678}, {0.70710678, 0.70710678}}), 1e-6, 1e-6)) << p;
}

TEST(ZeroShot, NonFinitePredictionsScoreNothing) {
  auto protos = torch::eye(4);
  auto pred = torch::zeros({3, 4});
  pred[0][1] = 1;  // correct
  pred[1].fill_(std::numeric_limits<float>::quiet_NaN());
  // pred[2] stays all zero: every cosine is 0, a four-way tie.
  auto r = ev::zero_shot(pred, protos, {1, 2, 3});
  EXPECT_EQ(r.rank, (std::vector<int64_t>{1, 4, 4}));
  EXPECT_NEAR(r.top1, 1.0 / 3, 1e-12);
  EXPECT_EQ(r.similarity.scalar_type(), torch::kFloat64);
}
