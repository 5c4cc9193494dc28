#pragma once
// Base64 (RFC 4648, standard alphabet, '=' padding) for data: URIs in the HTML report. Small
// enough to write here rather than pull in a library.
#include <string>
#include <string_view>

namespace brainsem::report {

std::string base64_encode(std::string_view bytes);

}  // namespace brainsem::report
