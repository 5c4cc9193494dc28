#pragma once
// Data files vendored under data/ and compiled into the binary (cmake/resources.S.in).
#include <string_view>

namespace brainsem::core {

// The bytes of an embedded resource by its short name (see BRAINSEM_RESOURCES in CMakeLists.txt):
// semantic_vitb32, imagenet_classes, god_train_tsv, god_test_tsv, god_test_info_csv,
// god_test_names_tsv. Throws brainsem::Error for an unknown name.
std::string_view resource(std::string_view name);

}  // namespace brainsem::core
