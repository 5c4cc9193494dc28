#include "brainsem/viz/separability.h"

#include <cmath>
#include <limits>
#include <map>
#include <random>

#include "brainsem/core/error.h"

namespace brainsem::viz {

namespace {
torch::Tensor check_binary(const torch::Tensor& y, int64_t n, const char* what) {
  BRAINSEM_CHECK(y.dim() == 1 && y.size(0) == n, what, ": labels ", y.sizes(), " do not match the ", n,
                 " rows of the features");
  auto yd = y.to(torch::kDouble);
  BRAINSEM_CHECK(((yd == 0) | (yd == 1)).all().item<bool>(), what,
                 ": labels must be 0 or 1 (e.g. abiotic = 0, biotic = 1)");
  return yd;
}

double objective(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& w, double b, double c) {
  auto f = x.matmul(w) + b;
  return 0.5 * w.dot(w).item<double>() + c * (torch::softplus(f) - y * f).sum().item<double>();
}
}  // namespace

LogisticFit fit_logistic_l2(const torch::Tensor& x_in, const torch::Tensor& y_in, double c) {
  BRAINSEM_CHECK(x_in.dim() == 2, "logistic regression: expected features [N, D], got ", x_in.sizes());
  BRAINSEM_CHECK(c > 0, "logistic regression: c=", c, " must be > 0");
  auto x = x_in.to(torch::kDouble);
  auto y = check_binary(y_in, x.size(0), "logistic regression");
  const int64_t d = x.size(1);
  auto xa = torch::cat({x, torch::ones({x.size(0), 1}, torch::kDouble)}, 1);  // bias column
  auto theta = torch::zeros({d + 1}, torch::kDouble);
  auto penalty = torch::ones({d + 1}, torch::kDouble);
  penalty[d] = 0;
  LogisticFit fit;
  for (; fit.iterations < 100; ++fit.iterations) {
    auto s = torch::sigmoid(xa.matmul(theta));
    auto grad = c * xa.t().matmul(s - y) + penalty * theta;
    // Tiny ridge on the bias keeps H invertible when one class is absent from a fold.
    auto hess = c * xa.t().matmul(xa * (s * (1 - s)).unsqueeze(1)) + torch::diag(penalty + 1e-9);
    auto step = torch::linalg_solve(hess, grad.unsqueeze(1)).squeeze(1);
    double decrement = grad.dot(step).item<double>();
    if (decrement / 2 < 1e-12) break;
    auto obj_at = [&](const torch::Tensor& t) { return objective(x, y, t.slice(0, 0, d), t[d].item<double>(), c); };
    double now = obj_at(theta), t = 1;
    while (obj_at(theta - t * step) > now - 1e-4 * t * decrement && t > 1e-10) t /= 2;
    theta = theta - t * step;
  }
  fit.w = theta.slice(0, 0, d).clone();
  fit.bias = theta[d].item<double>();
  return fit;
}

namespace {

// Fits on every fold's complement and scores the fold; fold_of[i] in [0, folds), no fold empty.
CvAccuracy cross_validate(const torch::Tensor& x, const torch::Tensor& y, const std::vector<int64_t>& fold_of,
                          int64_t folds, double c) {
  const int64_t n = x.size(0);
  CvAccuracy r;
  int64_t correct_total = 0;
  for (int64_t f = 0; f < folds; ++f) {
    std::vector<int64_t> tr, te;
    for (int64_t i = 0; i < n; ++i) (fold_of[i] == f ? te : tr).push_back(i);
    auto itr = torch::tensor(tr), ite = torch::tensor(te);
    auto xtr = x.index_select(0, itr), xte = x.index_select(0, ite);
    auto mu = xtr.mean(0), sd = xtr.std(0);
    sd = torch::where(sd > 1e-12, sd, torch::ones_like(sd));
    xtr = (xtr - mu) / sd;
    xte = (xte - mu) / sd;
    // Project onto the span of the (centred) training rows: F = Z V_r with rank r <= N_train.
    auto svd = torch::linalg_svd(xtr, /*full_matrices=*/false);
    auto s = std::get<1>(svd);
    auto vh = std::get<2>(svd);
    int64_t rank = (s > s[0] * 1e-10).sum().item<int64_t>();
    auto v = vh.slice(0, 0, std::max<int64_t>(rank, 1)).t();  // [D, r]
    auto fit = fit_logistic_l2(xtr.matmul(v), y.index_select(0, itr), c);
    auto pred = (xte.matmul(v).matmul(fit.w) + fit.bias > 0).to(torch::kDouble);
    int64_t correct = (pred == y.index_select(0, ite)).sum().item<int64_t>();
    correct_total += correct;
    r.folds.push_back(static_cast<double>(correct) / static_cast<double>(te.size()));
  }
  for (double a : r.folds) r.mean += a / static_cast<double>(folds);
  double ss = 0;
  for (double a : r.folds) ss += (a - r.mean) * (a - r.mean);
  r.sd = std::sqrt(ss / static_cast<double>(folds - 1));
  r.pooled = static_cast<double>(correct_total) / static_cast<double>(n);
  return r;
}

// Stratified assignment of units (items or groups) to folds: shuffle each label's units, deal them
// round-robin over the folds (the count runs on across labels, so fold sizes differ by at most 1).
std::vector<int64_t> deal_to_folds(const std::vector<std::vector<int64_t>>& units_of_label, int64_t folds,
                                   uint64_t seed) {
  std::mt19937_64 rng(seed);
  size_t total = 0;
  for (const auto& u : units_of_label) total += u.size();
  std::vector<int64_t> fold_of_unit(total);
  int64_t dealt = 0;
  for (auto members : units_of_label) {
    for (size_t i = members.size(); i > 1; --i) std::swap(members[i - 1], members[rng() % i]);
    for (int64_t m : members) fold_of_unit[static_cast<size_t>(m)] = dealt++ % folds;
  }
  return fold_of_unit;
}

}  // namespace

CvAccuracy logistic_cv_accuracy(const torch::Tensor& x_in, const torch::Tensor& y_in, int64_t folds, double c,
                                uint64_t seed) {
  BRAINSEM_CHECK(x_in.dim() == 2,
                 "cross-validated logistic regression: expected features "
                 "[N, D], got ",
                 x_in.sizes());
  const int64_t n = x_in.size(0);
  auto x = x_in.to(torch::kDouble);
  auto y = check_binary(y_in, n, "cross-validated logistic regression");
  BRAINSEM_CHECK(folds >= 2 && folds <= n, "cross-validated logistic regression: folds=", folds,
                 " must be in [2, N] with N=", n);
  std::vector<std::vector<int64_t>> members(2);
  for (int64_t i = 0; i < n; ++i) members[y[i].item<double>() == 1 ? 1 : 0].push_back(i);
  for (int cls = 0; cls < 2; ++cls)
    BRAINSEM_CHECK(members[cls].size() >= 2, "cross-validated logistic regression: class ", cls, " has ",
                   members[cls].size(), " items; each class needs at least 2");
  return cross_validate(x, y, deal_to_folds(members, folds, seed), folds, c);
}

CvAccuracy logistic_cv_accuracy_grouped(const torch::Tensor& x_in, const torch::Tensor& y_in,
                                        const torch::Tensor& groups, int64_t folds, double c, uint64_t seed) {
  const char* what = "class-grouped cross-validated logistic regression";
  BRAINSEM_CHECK(x_in.dim() == 2, what, ": expected features [N, D], got ", x_in.sizes());
  const int64_t n = x_in.size(0);
  auto x = x_in.to(torch::kDouble);
  auto y = check_binary(y_in, n, what);
  BRAINSEM_CHECK(groups.dim() == 1 && groups.size(0) == n, what, ": groups ", groups.sizes(), " do not match the ", n,
                 " rows of the features");
  auto g = groups.to(torch::kLong).contiguous();
  const int64_t* gp = g.data_ptr<int64_t>();
  // Groups in first-seen order, each with its one label.
  std::map<int64_t, int64_t> unit_of_group;
  std::vector<int> label_of_unit;
  std::vector<std::vector<int64_t>> units_of_label(2);
  for (int64_t i = 0; i < n; ++i) {
    const int label = y[i].item<double>() == 1 ? 1 : 0;
    auto [it, fresh] = unit_of_group.emplace(gp[i], static_cast<int64_t>(label_of_unit.size()));
    if (fresh) {
      label_of_unit.push_back(label);
      units_of_label[static_cast<size_t>(label)].push_back(it->second);
    }
    BRAINSEM_CHECK(label_of_unit[static_cast<size_t>(it->second)] == label, what, ": group ", gp[i],
                   " has items of both labels; a group (class) must have a single label");
  }
  for (int cls = 0; cls < 2; ++cls)
    BRAINSEM_CHECK(units_of_label[cls].size() >= 2, what, ": label ", cls, " has ", units_of_label[cls].size(),
                   " groups; each label needs at least 2 so that every training part holds it");
  const auto groups_total = static_cast<int64_t>(label_of_unit.size());
  BRAINSEM_CHECK(folds >= 2 && folds <= groups_total, what, ": folds=", folds, " must be in [2, ", groups_total,
                 "] (the number of groups)");
  auto fold_of_unit = deal_to_folds(units_of_label, folds, seed);
  std::vector<int64_t> fold_of(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    fold_of[static_cast<size_t>(i)] = fold_of_unit[static_cast<size_t>(unit_of_group[gp[i]])];
  return cross_validate(x, y, fold_of, folds, c);
}

double knn_purity(const torch::Tensor& x_in, const torch::Tensor& labels, int64_t k) {
  BRAINSEM_CHECK(x_in.dim() == 2, "k-NN purity: expected points [N, D], got ", x_in.sizes());
  const int64_t n = x_in.size(0);
  BRAINSEM_CHECK(labels.dim() == 1 && labels.size(0) == n, "k-NN purity: labels ", labels.sizes(), " do not match the ",
                 n, " points");
  BRAINSEM_CHECK(k >= 1 && k < n, "k-NN purity: k=", k, " must be in [1, N) with N=", n);
  auto x = x_in.to(torch::kDouble);
  auto n2 = x.pow(2).sum(1);
  auto d = (n2.unsqueeze(1) + n2.unsqueeze(0) - 2 * x.matmul(x.t())).clamp_min(0);
  d.fill_diagonal_(std::numeric_limits<double>::infinity());
  auto nn = std::get<1>(d.topk(k, 1, /*largest=*/false));  // [N, k]
  auto lab = labels.to(torch::kLong);
  auto same = lab.index({nn}) == lab.unsqueeze(1);
  return same.to(torch::kDouble).mean().item<double>();
}

double knn_purity_other_groups(const torch::Tensor& x_in, const torch::Tensor& labels, const torch::Tensor& groups,
                               int64_t k) {
  BRAINSEM_CHECK(x_in.dim() == 2, "k-NN purity across groups: expected points [N, D], got ", x_in.sizes());
  const int64_t n = x_in.size(0);
  BRAINSEM_CHECK(labels.dim() == 1 && labels.size(0) == n && groups.dim() == 1 && groups.size(0) == n,
                 "k-NN purity across groups: labels ", labels.sizes(), " and groups ", groups.sizes(),
                 " must both be [", n, "]");
  auto g = groups.to(torch::kLong);
  auto same_group = g.unsqueeze(1) == g.unsqueeze(0);  // [N, N], includes the point itself
  const int64_t fewest_others = n - same_group.sum(1).max().item<int64_t>();
  BRAINSEM_CHECK(k >= 1 && k <= fewest_others, "k-NN purity across groups: k=", k, " must be in [1, ", fewest_others,
                 "] (the fewest points outside one group)");
  auto x = x_in.to(torch::kDouble);
  auto n2 = x.pow(2).sum(1);
  auto d = (n2.unsqueeze(1) + n2.unsqueeze(0) - 2 * x.matmul(x.t())).clamp_min(0);
  d.masked_fill_(same_group, std::numeric_limits<double>::infinity());
  auto nn = std::get<1>(d.topk(k, 1, /*largest=*/false));  // [N, k], all from other groups
  auto lab = labels.to(torch::kLong);
  auto same = lab.index({nn}) == lab.unsqueeze(1);
  return same.to(torch::kDouble).mean().item<double>();
}

}  // namespace brainsem::viz
