// Versioned JSON documents: a reader takes its own format up to its version, refuses a newer one
// or another format with a message naming the file, and reads a format-less (older) file as is.
#include "brainsem/core/json_document.h"

#include <gtest/gtest.h>

#include <string>

#include "brainsem/core/error.h"

using brainsem::core::take_document_format;
using brainsem::core::versioned_document;
using nlohmann::json;

namespace {
std::string error_of(json doc, int version = 2) {
  try {
    take_document_format(doc, "brainsem.thing", version, "dir/thing.json");
  } catch (const brainsem::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(JsonDocument, RoundTripRemovesTheFormatKeys) {
  json doc = versioned_document("brainsem.thing", 2, json{{"a", 1}});
  EXPECT_EQ(doc.at("format"), "brainsem.thing");
  EXPECT_EQ(doc.at("version"), 2);
  EXPECT_EQ(take_document_format(doc, "brainsem.thing", 2, "x"), 2);
  EXPECT_EQ(doc, (json{{"a", 1}}));
}

TEST(JsonDocument, OlderAndFormatlessDocumentsAreRead) {
  json old = versioned_document("brainsem.thing", 1, json{{"a", 1}});
  EXPECT_EQ(take_document_format(old, "brainsem.thing", 2, "x"), 1);
  json legacy{{"a", 1}};
  EXPECT_EQ(take_document_format(legacy, "brainsem.thing", 2, "x"), 0);
  EXPECT_EQ(legacy, (json{{"a", 1}}));
}

TEST(JsonDocument, NewerVersionOtherFormatAndBadVersionAreRefusedNamingTheFile) {
  const auto newer = error_of(versioned_document("brainsem.thing", 3, json::object()));
  EXPECT_NE(newer.find("dir/thing.json"), std::string::npos) << newer;
  EXPECT_NE(newer.find("version 3"), std::string::npos) << newer;
  EXPECT_NE(newer.find("newer"), std::string::npos) << newer;
  const auto other = error_of(versioned_document("brainsem.other", 1, json::object()));
  EXPECT_NE(other.find("brainsem.other"), std::string::npos) << other;
  EXPECT_NE(error_of(json{{"format", "brainsem.thing"}, {"version", "1"}}).find("no valid \"version\""),
            std::string::npos);
  EXPECT_NE(error_of(json{{"format", "brainsem.thing"}}).find("no valid \"version\""), std::string::npos);
  EXPECT_NE(error_of(json{{"version", 1}}).find("no \"format\""), std::string::npos);
  EXPECT_NE(error_of(json::array()).find("not a JSON object"), std::string::npos);
}
