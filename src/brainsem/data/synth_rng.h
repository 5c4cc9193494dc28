#pragma once
// A small deterministic random number generator for the synthetic dataset. We do not use
// LibTorch's generator so that the same seed gives byte-identical data with LibTorch 1.13 and
// 2.x and any thread count. Every random quantity draws from its own stream, named by a tag and
// up to three indices, so a change in one part of the config (e.g. the library size) does not
// shift the numbers drawn for another part (e.g. the voxel noise).
// Algorithms: SplitMix64 (Steele et al. 2014) to seed xoshiro256** (Blackman & Vigna 2018);
// normals by the Box-Muller transform. Written here because Debian has no such C++ library
// with a portable (implementation-independent) normal distribution.
#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <string_view>

namespace brainsem::data::synth_rng {

inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// FNV-1a, to turn a stream tag into a number.
inline uint64_t hash_tag(std::string_view tag) {
  uint64_t h = 1469598103934665603ull;
  for (char c : tag) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

class Stream {
 public:
  Stream(uint64_t seed, std::string_view tag, uint64_t i = 0, uint64_t j = 0, uint64_t k = 0) {
    uint64_t sm = seed;
    uint64_t mix = splitmix64(sm) ^ hash_tag(tag);
    for (uint64_t x : {i, j, k}) {
      uint64_t t = mix ^ (x + 0x632be59bd9b4e019ull);
      mix = splitmix64(t);
    }
    for (auto& s : s_) s = splitmix64(mix);
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in (0, 1): 53 random bits, never exactly 0.
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double r = std::sqrt(-2.0 * std::log(uniform()));
    const double phi = 6.283185307179586 * uniform();
    spare_ = r * std::sin(phi);
    has_spare_ = true;
    return r * std::cos(phi);
  }
  // A float32 tensor of i.i.d. N(0, sd^2) values in row-major order.
  torch::Tensor normal_tensor(std::vector<int64_t> shape, double sd = 1.0) {
    torch::Tensor t = torch::empty(shape, torch::kFloat32);
    float* p = t.data_ptr<float>();
    const int64_t n = t.numel();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(sd * normal());
    return t;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace brainsem::data::synth_rng
