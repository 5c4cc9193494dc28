#pragma once
// `brainsem eval --protocol`: the peers' protocols (eval/protocols.h) on one study's test set, so
// that one trained run gives the number each paper's table reports (docs/protocols.md).
#include <torch/torch.h>

#include <string>
#include <vector>

#include "brainsem/eval/protocols.h"
#include "brainsem/experiment/study.h"

namespace brainsem::experiment {

struct ProtocolOptions {
  std::vector<std::string> protocols;                    // nway | retrieval | pairwise | bravl
  std::vector<int64_t> ways = {2, 4, 10, 50, 100, 200};  // nway: k values; those above the test classes are skipped
  int64_t repeats = 10;                                  // nway: distractor draws per test item
  int64_t subset = 300, loops = 30;                      // retrieval: MindEye's 30 subsets of 300 test images
  eval::SvcConfig svc;  // bravl: the SVC (gamma <= 0: scikit-learn's 'scale'); its seed is `seed`
  uint64_t seed = 0;
};
// The protocol names, for --help and checks.
const std::vector<std::string>& protocol_names();

// predicted [N_test, E]. Candidates are the "stimulus" prototypes of the test classes (nway,
// pairwise), each test item's own image feature (retrieval), and the SVC's training rows are the
// test-class library images (bravl; needs study.library_test).
std::vector<eval::ProtocolScore> run_protocols(const torch::Tensor& predicted, const LoadedStudy& study,
                                               const ProtocolOptions& opts);
// A printed table: protocol, metric, value %, 95 % interval, chance %, p.
std::string format_protocol_table(const std::vector<eval::ProtocolScore>& scores);

}  // namespace brainsem::experiment
