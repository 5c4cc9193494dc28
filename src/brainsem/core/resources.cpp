#include "brainsem/core/resources.h"

#include "brainsem/core/error.h"

#define BRAINSEM_DECLARE_RESOURCE(name)                \
  extern "C" const char brainsem_res_##name##_begin[]; \
  extern "C" const char brainsem_res_##name##_end[];
BRAINSEM_DECLARE_RESOURCE(semantic_vitb32)
BRAINSEM_DECLARE_RESOURCE(imagenet_classes)
BRAINSEM_DECLARE_RESOURCE(god_train_tsv)
BRAINSEM_DECLARE_RESOURCE(god_test_tsv)
BRAINSEM_DECLARE_RESOURCE(god_test_info_csv)
BRAINSEM_DECLARE_RESOURCE(god_test_names_tsv)
BRAINSEM_DECLARE_RESOURCE(synth_class_centres)
BRAINSEM_DECLARE_RESOURCE(clip_bpe_vocab)

namespace brainsem::core {

std::string_view resource(std::string_view name) {
#define BRAINSEM_RESOURCE_CASE(id)                     \
  if (name == #id)                                     \
    return std::string_view(brainsem_res_##id##_begin, \
                            static_cast<size_t>(brainsem_res_##id##_end - brainsem_res_##id##_begin));
  BRAINSEM_RESOURCE_CASE(semantic_vitb32)
  BRAINSEM_RESOURCE_CASE(imagenet_classes)
  BRAINSEM_RESOURCE_CASE(god_train_tsv)
  BRAINSEM_RESOURCE_CASE(god_test_tsv)
  BRAINSEM_RESOURCE_CASE(god_test_info_csv)
  BRAINSEM_RESOURCE_CASE(god_test_names_tsv)
  BRAINSEM_RESOURCE_CASE(synth_class_centres)
  BRAINSEM_RESOURCE_CASE(clip_bpe_vocab)
#undef BRAINSEM_RESOURCE_CASE
  fail("unknown embedded resource '", name, "'");
}

}  // namespace brainsem::core
