#include "brainsem/eval/svc.h"

#include <libsvm/svm.h>

#include <cstdlib>
#include <memory>
#include <set>

#include "brainsem/core/error.h"

namespace brainsem::eval {

namespace {
void quiet(const char*) {}

// libsvm's sparse rows: (index, value) pairs from 1, closed by index -1; zeros are kept so that a
// row's layout does not depend on its values.
std::vector<svm_node> dense_row(const double* row, int64_t e) {
  std::vector<svm_node> nodes(e + 1);
  for (int64_t j = 0; j < e; ++j) nodes[j] = svm_node{static_cast<int>(j + 1), row[j]};
  nodes[e] = svm_node{-1, 0.0};
  return nodes;
}
}  // namespace

double svc_scale_gamma(const torch::Tensor& x) {
  const auto v = x.to(torch::kFloat64).var(/*unbiased=*/false).item<double>();
  BRAINSEM_CHECK(v > 0, "svc: gamma 'scale' needs training rows that are not all equal");
  return 1.0 / (static_cast<double>(x.size(1)) * v);
}

SvcResult svc_class_probabilities(const torch::Tensor& x, const std::vector<int64_t>& labels, int64_t classes,
                                  const torch::Tensor& query, const SvcConfig& cfg) {
  BRAINSEM_CHECK(x.dim() == 2 && query.dim() == 2 && x.size(1) == query.size(1), "svc: training rows ", x.sizes(),
                 " and queries ", query.sizes(), " must be matrices of the same width");
  BRAINSEM_CHECK(static_cast<int64_t>(labels.size()) == x.size(0), "svc: ", labels.size(), " labels for ", x.size(0),
                 " rows");
  std::set<int64_t> distinct(labels.begin(), labels.end());
  BRAINSEM_CHECK(distinct.size() >= 2, "svc: needs training rows of at least two classes");
  BRAINSEM_CHECK(*distinct.begin() >= 0 && *distinct.rbegin() < classes, "svc: a label is outside [0, ", classes, ")");
  BRAINSEM_CHECK(cfg.c > 0, "svc: C must be > 0");
  const auto xs = x.to(torch::kCPU, torch::kFloat64).contiguous();
  const auto qs = query.to(torch::kCPU, torch::kFloat64).contiguous();
  BRAINSEM_CHECK(torch::isfinite(xs).all().item<bool>() && torch::isfinite(qs).all().item<bool>(),
                 "svc: training rows and queries must be finite");
  const int64_t n = xs.size(0), e = xs.size(1);

  SvcResult out;
  out.gamma = cfg.gamma > 0 ? cfg.gamma : svc_scale_gamma(xs);
  std::vector<std::vector<svm_node>> rows(n);
  std::vector<svm_node*> row_ptrs(n);
  std::vector<double> y(n);
  for (int64_t i = 0; i < n; ++i) {
    rows[i] = dense_row(xs.data_ptr<double>() + i * e, e);
    row_ptrs[i] = rows[i].data();
    y[i] = static_cast<double>(labels[i]);
  }
  svm_problem problem{static_cast<int>(n), y.data(), row_ptrs.data()};
  svm_parameter param{};
  param.svm_type = C_SVC;
  param.kernel_type = RBF;
  param.gamma = out.gamma;
  param.cache_size = 200;  // MB, scikit-learn's default
  param.eps = 1e-3;        // scikit-learn's tol
  param.C = cfg.c;
  param.shrinking = 1;
  param.probability = 1;
  if (const char* bad = svm_check_parameter(&problem, &param)) fail("svc: libsvm refused the parameters: ", bad);
  svm_set_print_string_function(&quiet);
  std::srand(static_cast<unsigned>(cfg.seed));
  std::unique_ptr<svm_model, void (*)(svm_model*)> model(svm_train(&problem, &param),
                                                         [](svm_model* m) { svm_free_and_destroy_model(&m); });
  BRAINSEM_CHECK(model != nullptr, "svc: libsvm could not train");
  const int k = svm_get_nr_class(model.get());
  std::vector<int> model_labels(k);
  svm_get_labels(model.get(), model_labels.data());  // column j of libsvm's estimates is class model_labels[j]

  const int64_t m = qs.size(0);
  out.probabilities = torch::zeros({m, classes}, torch::kFloat64);
  auto* p = out.probabilities.data_ptr<double>();
  std::vector<double> estimates(k);
  for (int64_t i = 0; i < m; ++i) {
    const auto row = dense_row(qs.data_ptr<double>() + i * e, e);
    svm_predict_probability(model.get(), row.data(), estimates.data());
    for (int j = 0; j < k; ++j) p[i * classes + model_labels[j]] = estimates[j];
  }
  return out;
}

}  // namespace brainsem::eval
