#include "brainsem/core/resources.h"

#include <gtest/gtest.h>

#include "brainsem/core/atomic_file.h"
#include "brainsem/core/error.h"
#include "testing/paths.h"

TEST(Resources, EmbeddedFilesEqualTheVendoredOnes) {
  auto src = brainsem::testing::source_dir() / "data";
  EXPECT_EQ(brainsem::core::resource("god_train_tsv"),
            brainsem::core::read_text_file(src / "god/god_stimulus_ImageNetTraining.tsv"));
  EXPECT_EQ(brainsem::core::resource("semantic_vitb32"),
            brainsem::core::read_text_file(src / "semantic/clip_vitb32_imagenet1k_text_1000x512.npy"));
  EXPECT_THROW(brainsem::core::resource("nope"), brainsem::Error);
}
