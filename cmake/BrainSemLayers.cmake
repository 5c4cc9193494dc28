# brainsem_layer(NAME [DEPS...]): a static library from src/brainsem/NAME/*.cpp that links the
# listed lower layers. Sources are globbed so that adding a file needs no CMake edit.
add_library(brainsem_all INTERFACE)

function(brainsem_use_pch target)
  if(BRAINSEM_PCH)
    target_precompile_headers(${target} REUSE_FROM brainsem_pch)
  endif()
endfunction()

# Compiler warnings for every target of the project (layers, app, tests, bench);
# -DBRAINSEM_WARNINGS_AS_ERRORS=ON (CI) makes them errors.
function(brainsem_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  # GCC 12 reports `"text" + std::string` as a memcpy overflow once inlined (false positives of
  # -Wstringop-overflow, -Warray-bounds and -Wrestrict in libstdc++'s operator+; the bound it prints is
  # > PTRDIFF_MAX).
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
     AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-stringop-overflow -Wno-array-bounds -Wno-restrict)
  endif()
  if(BRAINSEM_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

function(brainsem_layer name)
  file(GLOB srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/brainsem/${name}/*.cpp)
  if(NOT srcs)
    set(srcs ${PROJECT_SOURCE_DIR}/cmake/pch_anchor.cpp)
  endif()
  add_library(brainsem_${name} STATIC ${srcs})
  target_include_directories(brainsem_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  brainsem_warnings(brainsem_${name})
  foreach(dep IN LISTS ARGN)
    target_link_libraries(brainsem_${name} PUBLIC brainsem_${dep})
  endforeach()
  brainsem_use_pch(brainsem_${name})
  target_link_libraries(brainsem_all INTERFACE brainsem_${name})
endfunction()
