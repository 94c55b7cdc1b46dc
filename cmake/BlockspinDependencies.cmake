# Finds every external dependency. All come from Debian packages (see README), or, for CUDA builds,
# from the LibTorch inside a PyTorch wheel (-DCMAKE_PREFIX_PATH=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')).

find_package(Torch REQUIRED)
message(STATUS "Blockspin: LibTorch ${Torch_VERSION} from ${Torch_DIR}")

# H5Cpp only: asking for C as well needs the C language enabled.
find_package(HDF5 REQUIRED COMPONENTS CXX)
find_package(ZLIB REQUIRED)  # CRC32 of HDF5 datasets (io/h5io.cpp)
find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)

# A LibTorch from a PyTorch wheel carries {fmt} headers of its own (torch/include/fmt, a newer major version whose
# compiled functions libtorch exports). spdlog and our code must compile against the {fmt} that libfmt and libspdlog
# were built with: that include directory goes before LibTorch's. (Suspected cause of the GPU check's first run
# crashing test_run/test_io at their first formatted message; unverified on a GPU so far, see docs/results.md.)
get_target_property(blockspin_fmt_include fmt::fmt INTERFACE_INCLUDE_DIRECTORIES)
foreach(dir IN LISTS TORCH_INCLUDE_DIRS)
  if(EXISTS "${dir}/fmt/format.h" AND NOT dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES
     AND NOT dir IN_LIST blockspin_fmt_include)
    if(blockspin_fmt_include IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
      message(WARNING "LibTorch's {fmt} headers (${dir}/fmt) shadow the system's ${blockspin_fmt_include}/fmt, "
                      "which cannot be put first: use a {fmt}/spdlog installed under another prefix")
    else()
      include_directories(BEFORE SYSTEM ${blockspin_fmt_include})
      message(STATUS "Blockspin: LibTorch ships {fmt} headers; ${blockspin_fmt_include} goes first")
    endif()
    break()
  endif()
endforeach()

if(BLOCKSPIN_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(BLOCKSPIN_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()

# LibTorch's imported target claims C++14 and adds its own flags; we only need its include dirs and libs.
# TORCH_LIBRARIES also carries the CUDA libraries when the wheel is a CUDA build.
add_library(blockspin_torch INTERFACE)
target_link_libraries(blockspin_torch INTERFACE ${TORCH_LIBRARIES})
target_compile_options(blockspin_torch INTERFACE ${TORCH_CXX_FLAGS})
