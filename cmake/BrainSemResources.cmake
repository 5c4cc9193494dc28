# Embedded resources: vendored data compiled into the binary (data/README.md), so the program
# needs no data directory at run time. One list, used by the program's build and the fuzz build.
# brainsem_add_resources(TARGET) makes a static library TARGET exposing each blob as
# brainsem_res_<NAME>_begin/_end (src/brainsem/core/resources.h). NAME=relative path under data/.
set(BRAINSEM_RESOURCES
  semantic_vitb32=semantic/clip_vitb32_imagenet1k_text_1000x512.npy
  imagenet_classes=semantic/imagenet1k_classes.tsv
  god_train_tsv=god/god_stimulus_ImageNetTraining.tsv
  god_test_tsv=god/god_stimulus_ImageNetTest.tsv
  god_test_info_csv=god/god_stimulus_info_ImageNetTest.csv
  god_test_names_tsv=god/god_test_synsets_names.tsv
  synth_class_centres=synth/god_class_centres.tsv
  clip_bpe_vocab=clip/bpe_simple_vocab_16e6.txt.gz)

function(brainsem_add_resources target)
  set(root "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/..")
  cmake_path(NORMAL_PATH root)
  set(BRAINSEM_RESOURCE_LINES "")
  set(files "")
  foreach(entry IN LISTS BRAINSEM_RESOURCES)
    string(REPLACE "=" ";" kv "${entry}")
    list(GET kv 0 rname)
    list(GET kv 1 rpath)
    string(APPEND BRAINSEM_RESOURCE_LINES "BLOB(brainsem_res_${rname}, \"${root}data/${rpath}\")\n")
    list(APPEND files "${root}data/${rpath}")
  endforeach()
  configure_file(${root}cmake/resources.S.in ${CMAKE_CURRENT_BINARY_DIR}/resources.S @ONLY)
  add_library(${target} STATIC ${CMAKE_CURRENT_BINARY_DIR}/resources.S)
  set_source_files_properties(${CMAKE_CURRENT_BINARY_DIR}/resources.S PROPERTIES OBJECT_DEPENDS "${files}")
endfunction()
