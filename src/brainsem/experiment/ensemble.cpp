#include "brainsem/experiment/ensemble.h"

#include "brainsem/core/error.h"

namespace brainsem::experiment {

torch::Tensor ensemble_embedding(const std::vector<torch::Tensor>& members) {
  BRAINSEM_CHECK(!members.empty(), "an ensemble needs at least one member run");
  const auto shape = members.front().sizes();
  BRAINSEM_CHECK(shape.size() == 2, "ensemble members must be [test items, embedding] matrices, got ",
                 members.front().sizes());
  torch::Tensor sum;
  for (const auto& m : members) {
    BRAINSEM_CHECK(m.sizes() == shape, "ensemble member predictions differ in shape: ", m.sizes(), " vs ", shape,
                   " (every member must embed the same test items in the same space)");
    // float64 so that the mean does not depend on the order of the members beyond rounding.
    auto unit =
        torch::nn::functional::normalize(m.to(torch::kFloat64), torch::nn::functional::NormalizeFuncOptions().dim(1));
    sum = sum.defined() ? sum + unit : unit;
  }
  return (sum / static_cast<double>(members.size())).to(members.front().dtype());
}

void check_same_test_set(const LoadedStudy& first, const LoadedStudy& member, const std::string& first_name,
                         const std::string& member_name) {
  const auto& a = first.subject.test_x;
  const auto& b = member.subject.test_x;
  const bool same = first.test_classes == member.test_classes && first.test_truth == member.test_truth &&
                    a.sizes() == b.sizes() && torch::equal(a, b);
  BRAINSEM_CHECK(same, "run ", member_name, " was not trained on the test set of ", first_name,
                 ": its test classes, ROIs or normalised test fMRI differ (another subject, --rois or --normalize?). "
                 "An ensemble averages predictions of the same test items; pass runs of one subject and one setup");
}

}  // namespace brainsem::experiment
