// Prompt templates: the built-in sets, template files (comments, CRLF, blank lines, a line
// without {} refused naming file:line) and filling.
#include "brainsem/clip/prompts.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "brainsem/core/error.h"
#include "testing/errors.h"
#include "testing/paths.h"

using namespace brainsem::clip;

TEST(ClipPrompts, BuiltinSetsFilesAndFilling) {
  const auto t80 = builtin_templates("imagenet80");
  EXPECT_EQ(t80.size(), 80u);
  EXPECT_EQ(std::set<std::string>(t80.begin(), t80.end()).size(), 80u);
  for (const auto& t : t80) EXPECT_NE(t.find("{}"), std::string::npos) << t;
  EXPECT_EQ(builtin_templates("default"), std::vector<std::string>{"a photo of a {}."});
  EXPECT_THROW(builtin_templates("imagenet81"), brainsem::Error);
  EXPECT_EQ(fill_template("a {} or {}.", "cat"), "a cat or cat.");

  brainsem::testing::TempDir tmp;
  std::ofstream(tmp / "t.txt") << "# my prompts\na photo of a {}.\r\n\nart of the {}.\n";
  EXPECT_EQ(read_templates_file(tmp / "t.txt"), (std::vector<std::string>{"a photo of a {}.", "art of the {}."}));
  std::ofstream(tmp / "bad.txt") << "a photo of a {}.\nno placeholder here\n";
  const std::string error = brainsem::testing::error_of([&] { read_templates_file(tmp / "bad.txt"); });
  EXPECT_NE(error.find("bad.txt:2"), std::string::npos)
      << "a template without {} must be refused naming its line: " << error;
}
