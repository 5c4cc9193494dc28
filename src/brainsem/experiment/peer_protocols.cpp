#include "brainsem/experiment/peer_protocols.h"

#include <algorithm>
#include <cstdio>

#include "brainsem/core/error.h"
#include "brainsem/core/text.h"

namespace brainsem::experiment {

const std::vector<std::string>& protocol_names() {
  static const std::vector<std::string> names = {"nway", "retrieval", "pairwise", "bravl"};
  return names;
}

std::vector<eval::ProtocolScore> run_protocols(const torch::Tensor& predicted, const LoadedStudy& study,
                                               const ProtocolOptions& o) {
  const auto prototypes = test_prototypes(study).front();  // "stimulus": the test classes' own images
  BRAINSEM_CHECK(prototypes.kind == "stimulus", "protocols: the stimulus prototypes come first");
  const int64_t classes = prototypes.features.size(0);
  std::vector<eval::ProtocolScore> out;
  for (const auto& name : o.protocols) {
    if (name == "nway") {
      std::vector<int64_t> ks;
      for (int64_t k : o.ways)
        if (k <= classes) ks.push_back(k);
      BRAINSEM_CHECK(!ks.empty(), "--ways: every k exceeds the ", classes, " test classes");
      for (auto& s : eval::nway_classification(predicted, prototypes.features, study.test_truth, ks, o.repeats, o.seed))
        out.push_back(std::move(s));
    } else if (name == "retrieval") {
      auto rows = study.stimuli.rows_of_names(study.subject.test_names, "stimulus store (test images)");
      auto images = study.stimuli.features.index_select(0, torch::tensor(rows, torch::kInt64));  // [N_test, E]
      for (auto& s : eval::subset_retrieval(predicted, images, o.subset, o.loops, o.seed)) out.push_back(std::move(s));
    } else if (name == "pairwise") {
      out.push_back(eval::pairwise_identification(predicted, prototypes.features, study.test_truth, o.seed));
    } else if (name == "bravl") {
      BRAINSEM_CHECK(study.library_test.has_value(),
                     "protocol bravl trains its SVC on images of the test classes: pass --library-test FILE "
                     "(the run's inputs.json names none)");
      const auto lib = test_library(study);
      auto svc = o.svc;
      svc.seed = o.seed;
      for (auto& s :
           eval::svc_classification(predicted, lib.features, lib.label, classes, study.test_truth, svc, o.seed))
        out.push_back(std::move(s));
    } else {
      fail("unknown protocol '", name, "'; choose from ", core::join(protocol_names()));
    }
  }
  return out;
}

std::string format_protocol_table(const std::vector<eval::ProtocolScore>& scores) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-10s %-40s %8s %18s %8s %9s\n", "protocol", "metric", "value %", "95% CI",
                "chance %", "p");
  out += line;
  for (const auto& s : scores) {
    char ci[64], p[32] = "-";
    std::snprintf(ci, sizeof ci, "[%.1f, %.1f]", 100 * s.interval.lo, 100 * s.interval.hi);
    if (s.p_value >= 0) std::snprintf(p, sizeof p, "%.1e", s.p_value);
    std::snprintf(line, sizeof line, "%-10s %-40s %8.1f %18s %8.1f %9s\n", s.protocol.c_str(), s.metric.c_str(),
                  100 * s.value, ci, 100 * s.chance, p);
    out += line;
  }
  return out;
}

}  // namespace brainsem::experiment
