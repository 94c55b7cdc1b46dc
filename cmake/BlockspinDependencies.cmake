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
