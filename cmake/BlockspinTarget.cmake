# Common settings for every Blockspin target: warnings, the shared precompiled <torch/torch.h>.

# One tiny target owns the precompiled header; all others reuse it (same flags, so gcc accepts it).
add_library(blockspin_pch STATIC ${CMAKE_CURRENT_LIST_DIR}/pch.cpp)
target_link_libraries(blockspin_pch PUBLIC blockspin_torch)
target_compile_features(blockspin_pch PUBLIC cxx_std_17)
if(BLOCKSPIN_USE_PCH)
  target_precompile_headers(blockspin_pch PRIVATE <torch/torch.h>)
endif()

# -fPIC everywhere (not CMAKE_POSITION_INDEPENDENT_CODE, which gives executables -fPIE and so a flag mismatch with the
# shared precompiled header): the static libraries also go into the op library Python loads (ops/).
set(BLOCKSPIN_COMMON_OPTIONS -Wall -Wextra -Wno-unused-parameter -fPIC)

function(blockspin_configure_target target)
  target_compile_features(${target} PUBLIC cxx_std_17)
  target_compile_options(${target} PRIVATE ${BLOCKSPIN_COMMON_OPTIONS})
  if(BLOCKSPIN_USE_PCH)
    target_precompile_headers(${target} REUSE_FROM blockspin_pch)
  endif()
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "EXECUTABLE")
    target_link_libraries(${target} PRIVATE blockspin_startup)  # support/startup: allocator settings before main()
  endif()
endfunction()
target_compile_options(blockspin_pch PRIVATE ${BLOCKSPIN_COMMON_OPTIONS})
