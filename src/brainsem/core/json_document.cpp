#include "brainsem/core/json_document.h"

#include "brainsem/core/error.h"

using nlohmann::json;

namespace brainsem::core {

json versioned_document(const std::string& format, int version, json fields) {
  BRAINSEM_CHECK(fields.is_object(), "a ", format, " document must be a JSON object");
  fields["format"] = format;
  fields["version"] = version;
  return fields;
}

int take_document_format(json& doc, const std::string& format, int version, const std::filesystem::path& where) {
  BRAINSEM_CHECK(doc.is_object(), where, " is not a JSON object (expected a ", format, " document)");
  if (!doc.contains("format")) {
    BRAINSEM_CHECK(!doc.contains("version"), where, " has a \"version\" but no \"format\"; expected format \"", format,
                   "\"");
    return 0;  // written before documents recorded their format
  }
  const json& f = doc.at("format");
  BRAINSEM_CHECK(f.is_string() && f.get<std::string>() == format, where, " is a ", f.dump(), " document, not \"",
                 format, "\"; pass the file of the right kind");
  const auto v = doc.find("version");
  BRAINSEM_CHECK(v != doc.end() && v->is_number_integer() && v->get<int64_t>() >= 1, where, " has format \"", format,
                 "\" but no valid \"version\" (a positive integer)");
  const int64_t got = v->get<int64_t>();
  BRAINSEM_CHECK(got <= version, where, " is ", format, " version ", got, ", newer than this build reads (up to ",
                 version, "); use a newer brainsem");
  doc.erase("format");
  doc.erase("version");
  return static_cast<int>(got);
}

}  // namespace brainsem::core
