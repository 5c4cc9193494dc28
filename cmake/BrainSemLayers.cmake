# brainsem_layer(NAME [DEPS...]): a static library from src/brainsem/NAME/*.cpp that links the
# listed lower layers. Sources are globbed so that adding a file needs no CMake edit.
add_library(brainsem_all INTERFACE)

function(brainsem_use_pch target)
  if(BRAINSEM_PCH)
    target_precompile_headers(${target} REUSE_FROM brainsem_pch)
  endif()
endfunction()

function(brainsem_layer name)
  file(GLOB srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/brainsem/${name}/*.cpp)
  if(NOT srcs)
    set(srcs ${PROJECT_SOURCE_DIR}/cmake/pch_anchor.cpp)
  endif()
  add_library(brainsem_${name} STATIC ${srcs})
  target_include_directories(brainsem_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(brainsem_${name} PRIVATE -Wall -Wextra)
  foreach(dep IN LISTS ARGN)
    target_link_libraries(brainsem_${name} PUBLIC brainsem_${dep})
  endforeach()
  brainsem_use_pch(brainsem_${name})
  target_link_libraries(brainsem_all INTERFACE brainsem_${name})
endfunction()
