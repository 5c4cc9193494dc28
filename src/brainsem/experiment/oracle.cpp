#include "brainsem/experiment/oracle.h"

#include <map>
#include <string>

#include "brainsem/core/error.h"
#include "brainsem/data/synth.h"
#include "brainsem/eval/ridge.h"

namespace brainsem::experiment {

torch::Tensor oracle_similarity(const LoadedStudy& s) {
  BRAINSEM_CHECK(!s.inputs.truth.empty(), "the oracle needs the generator's truth.safetensors (synth --write-truth)");
  auto truth = data::read_synth_truth(s.inputs.truth);
  BRAINSEM_CHECK(s.inputs.subject_index >= 0 && s.inputs.subject_index < static_cast<int>(truth.subjects.size()),
                 "subject index ", s.inputs.subject_index, " is outside the truth's ", truth.subjects.size(),
                 " subjects");
  const auto& st = truth.subjects[s.inputs.subject_index];
  // Raw averaged test responses, unnormalised: the truth describes raw voxels.
  auto raw = data::load_subject(s.inputs.subject, data::Normalize::none);
  auto observed = eval::flatten_rois(raw.test_x, raw.roi_sizes).to(torch::kFloat64);  // [N, V]
  BRAINSEM_CHECK(observed.size(1) == st.noise_sd.size(0), "truth and subject disagree on the voxel count (",
                 st.noise_sd.size(0), " vs ", observed.size(1), "); wrong --truth or subject index?");
  std::map<std::string, int64_t> stim_row;
  for (size_t i = 0; i < truth.stimuli.size(); ++i) stim_row[truth.stimuli[i].name] = static_cast<int64_t>(i);
  // Candidate c = the stimulus image of test class c (first test row of that class).
  std::vector<int64_t> cand_rows(s.test_classes.size(), -1), cand_class;
  for (size_t i = 0; i < s.test_truth.size(); ++i)
    if (cand_rows[s.test_truth[i]] < 0) {
      auto it = stim_row.find(raw.test_names[i]);
      BRAINSEM_CHECK(it != stim_row.end(), "test image ", raw.test_names[i], " is not in the truth");
      cand_rows[s.test_truth[i]] = it->second;
    }
  for (auto r : cand_rows) cand_class.push_back(truth.stimulus_class[r]);
  auto idx = torch::tensor(cand_rows, torch::kInt64);
  // A decoder can only know an image's semantics (its CLIP feature), never the image's own
  // low-level vector, so the oracle treats the low-level drive as noise: the mean response uses
  // the average low-level vector and its variance joins the noise. (Knowing the low-level
  // vectors too makes identification trivially perfect.)
  auto low = truth.lowlevel.to(torch::kFloat64);                                   // [S, L]
  auto low_mean = low.mean(0, true);                                               // [1, L]
  auto low_cov = (low - low_mean).t().matmul(low - low_mean) / (low.size(0) - 1);  // [L, L]
  auto mu = truth
                .expected_response(s.inputs.subject_index, truth.stimulus_features.index_select(0, idx),
                                   low_mean.expand({idx.size(0), low.size(1)}).to(torch::kFloat32), cand_class)
                .to(torch::kFloat64);                                                              // [C, V]
  auto w_low = st.w_low.to(torch::kFloat64);                                                       // [V, L]
  auto low_var = st.low_gain.to(torch::kFloat64).pow(2) * (w_low.matmul(low_cov) * w_low).sum(1);  // [V]
  // Averaging R repeats shrinks the trial noise and the run shifts (one run per repeat), not the
  // image's low-level drive, which every repeat shares.
  const double repeats = truth.config.test_repeats;
  auto var = (st.noise_sd.to(torch::kFloat64).pow(2) + st.run_shift.to(torch::kFloat64).var(0)) / repeats + low_var;
  const auto& centred = observed;  // expected_response includes the voxel baselines
  // log N(x | mu_c, var) up to a constant: -sum_v (x_v - mu_cv)^2 / (2 var_v).
  auto w = 1.0 / var;
  auto xx = (centred.pow(2) * w).sum(1, true);    // [N, 1]
  auto mm = (mu.pow(2) * w).sum(1).unsqueeze(0);  // [1, C]
  auto xm = (centred * w).matmul(mu.t());         // [N, C]
  return (-(xx - 2 * xm + mm) / 2).to(torch::kFloat32);
}

}  // namespace brainsem::experiment
