#pragma once
// Versioned JSON documents. Every JSON file BrainSem writes carries "format" (what it is) and
// "version" (its layout); a reader accepts its own format up to the version it knows, and a
// document without "format" as one written before formats were recorded (version 0).
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace brainsem::core {

// `fields` (an object) with "format" and "version" added.
nlohmann::json versioned_document(const std::string& format, int version, nlohmann::json fields);

// Checks `doc` is an object of `format` with a version <= `version` (the newest this build reads);
// returns the document's version (0 without "format") and removes the two keys from `doc`.
// `where` names the file in the error.
int take_document_format(nlohmann::json& doc, const std::string& format, int version,
                         const std::filesystem::path& where);

}  // namespace brainsem::core
