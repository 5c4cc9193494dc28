// Feature stores refuse what would make a score meaningless when they are opened.
#include "brainsem/data/feature_store.h"

#include <gtest/gtest.h>

#include <limits>

#include "brainsem/core/error.h"
#include "testing/paths.h"

using namespace brainsem;

namespace {
// A store written around FeatureStore::save (which refuses NaN itself), as a hostile or broken
// writer would leave it.
void write_raw_store(const std::filesystem::path& path, const torch::Tensor& features) {
  std::string names = "[", classes = "[";
  for (int64_t i = 0; i < features.size(0); ++i) {
    names += (i ? ",\"img" : "\"img") + std::to_string(i) + "\"";
    classes += i ? ",\"n0\"" : "\"n0\"";
  }
  io::write_safetensors(path, {{"features", features}},
                        {{"format", "brainsem.features.v1"},
                         {"encoder", "test"},
                         {"preprocessing", "none"},
                         {"names", names + "]"},
                         {"classes", classes + "]"}});
}
}  // namespace

TEST(FeatureStore, OpensAFiniteStoreAndRefusesNaNOrInfNamingTheImage) {
  brainsem::testing::TempDir dir;
  auto f = torch::randn({70000, 4});  // more rows than one scan block
  write_raw_store(dir / "ok.safetensors", f);
  auto s = data::FeatureStore::open(dir / "ok.safetensors");
  EXPECT_TRUE(torch::equal(s.features, f));

  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    auto g = f.clone();
    g[66000][2] = bad;  // in the second block
    write_raw_store(dir / "bad.safetensors", g);
    try {
      data::FeatureStore::open(dir / "bad.safetensors");
      FAIL() << "a store with " << bad << " was accepted";
    } catch (const brainsem::Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("row 66000"), std::string::npos) << what;
      EXPECT_NE(what.find("img66000"), std::string::npos) << what;
      EXPECT_NE(what.find("NaN or Inf"), std::string::npos) << what;
    }
  }
}

TEST(FeatureStore, RefusesNamesThatAreNotAJsonArrayOfStringsSayingWhich) {
  brainsem::testing::TempDir dir;
  const auto path = dir / "s.safetensors";
  auto write = [&](const std::string& names) {
    io::write_safetensors(path, {{"features", torch::zeros({2, 3})}},
                          {{"format", "brainsem.features.v1"},
                           {"encoder", "test"},
                           {"preprocessing", "none"},
                           {"names", names},
                           {"classes", R"(["n0","n1"])"}});
  };
  write(R"(["a","b\u00e9\"q"])");  // escapes are decoded as before
  auto s = data::FeatureStore::open(path);
  EXPECT_EQ(s.names, (std::vector<std::string>{"a", "b\xc3\xa9\"q"}));
  EXPECT_EQ(s.classes, (std::vector<std::string>{"n0", "n1"}));

  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"a":1})", "must be a JSON array of strings"}, {R"("a")", "must be a JSON array of strings"},
      {R"(["a",2])", "must contain only strings"},       {R"(["a",["b"]])", "must contain only strings"},
      {R"(["a",null])", "must contain only strings"},    {R"(["a","b")", "is not valid JSON"},
      {R"(["a","b"] x)", "is not valid JSON"},           {"", "is not valid JSON"}};
  for (const auto& [names, message] : bad) {
    write(names);
    try {
      data::FeatureStore::open(path);
      FAIL() << "names " << names << " were accepted";
    } catch (const brainsem::Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("metadata 'names' " + message), std::string::npos) << names << ": " << what;
    }
  }
}
