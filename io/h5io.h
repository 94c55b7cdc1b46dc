// HDF5 files of the apps (ensembles, checkpoints, FP data): atomic whole-file writes, format-checked opening,
// tensors as datasets and scalar attributes.
//
// Storage conventions (readable by h5py without help):
//   complex tensors  -> compound {r: float64 at offset 0, i: float64 at offset 8} (h5py reads it as complex128)
//   floating tensors -> float64,  integral/bool tensors -> int64,  byte blobs (write_bytes) -> uint8
//   0-d tensors      -> scalar dataspace;  string attributes -> variable-length UTF-8 strings
//   every dataset: attribute "crc32" (int64) = CRC32 of its data as read back; whole reads verify it (H5Error on a
//   mismatch: a damaged file is never read silently)
//   root attributes "blockspin_format" (e.g. "ensemble", "checkpoint", "fp_data") and "blockspin_version"
// Every HDF5 failure surfaces as H5Error whose one-line message names the file and the dataset/attribute;
// HDF5's own error-stack printing is switched off.
#pragma once

#include "support/errors.h"

#include <H5Cpp.h>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace blockspin::io {

/// An HDF5 I/O error; what() names the file and the dataset/attribute concerned.
/// Reading errors are input-file errors (exit status 4); writing errors surface as support::OutputError (3).
struct H5Error : support::InputError {
  using support::InputError::InputError;
};

/// Name of the root attribute holding the file kind ("ensemble", "checkpoint", "fp_data", ...).
inline constexpr const char* kFormatAttribute = "blockspin_format";
/// Name of the attribute every dataset carries: the CRC32 of its data (as read back), checked on every whole read.
inline constexpr const char* kChecksumAttribute = "crc32";
/// Name of the root attribute holding the writer's version string.
inline constexpr const char* kVersionAttribute = "blockspin_version";

/// Write a whole HDF5 file atomically: `fill` populates a fresh file built in memory (HDF5's core driver), whose image
/// is then written by support::write_file_atomic (temp file, fsync, rename, fsync of the directory). HDF5 never writes
/// to disk itself, so a full disk is an ordinary OutputError naming `path`; on any exception nothing is written and
/// an existing target stays untouched. Also writes root attributes "blockspin_format" = format and
/// "blockspin_version" = version. The directory must exist. Objects opened inside `fill` must be closed when it
/// returns (OutputError otherwise).
void write_h5_atomic(const std::filesystem::path& path, const std::string& format, const std::string& version,
                     const std::function<void(H5::H5File&)>& fill);

/// Open `path` read-only, checking that it is a complete HDF5 file and (if `expected_format` is non-empty) that its
/// "blockspin_format" attribute equals it. H5Error messages: "'PATH' does not exist", "'PATH' is not an HDF5 file
/// (truncated or foreign?)", "'PATH' is a blockspin 'checkpoint' file, expected 'ensemble'", "'PATH' has no
/// blockspin_format attribute (not written by blockspin)".
H5::H5File open_h5(const std::filesystem::path& path, const std::string& expected_format);

/// The compound file type {r: IEEE f64 LE at 0, i: IEEE f64 LE at 8} (16 bytes) used for complex tensors.
H5::CompType complex128_type();

/// Create dataset `name` (a name relative to `g`; must not exist yet) holding `t`, which may be on any device and of
/// any dtype: it is moved to CPU and stored as complex128 compound (complex dtypes), float64 (floating dtypes) or
/// int64 (integral dtypes and bool). A 0-d tensor becomes a scalar dataset; zero-size dims are allowed.
/// deflate in 1..9: chunked along dim 0 (whole rows, ~256 KiB per chunk, at least one row) and gzip-compressed;
/// 0: contiguous.
void write_tensor(H5::Group& g, const std::string& name, const torch::Tensor& t, int deflate = 0);

/// Read dataset `name` as a CPU tensor: complex128 for a compound {r, i} of two floats (any other compound is an
/// error), float64 for float datasets, int64 for integer datasets; other classes are an error.
torch::Tensor read_tensor(const H5::Group& g, const std::string& name);

/// Shape of dataset `name` ({} for a scalar dataset).
std::vector<int64_t> dataset_shape(const H5::Group& g, const std::string& name);

/// Rows [first, first + count) along dim 0 of dataset `name` (a hyperslab read; dtypes as read_tensor). The range must
/// lie within the dataset (count == 0 gives an empty tensor); a scalar dataset is an error.
torch::Tensor read_tensor_slice(const H5::Group& g, const std::string& name, int64_t first, int64_t count);

/// True if `name` (may contain '/'; missing intermediate groups give false) is a dataset in `g`.
bool has_dataset(const H5::Group& g, const std::string& name);

/// Create dataset `name` holding a uint8 tensor (any shape) bit for bit, e.g. a torch Generator state or a blob.
void write_bytes(H5::Group& g, const std::string& name, const torch::Tensor& uint8_tensor);
/// Read a dataset of 8-bit unsigned integers written by write_bytes as a uint8 CPU tensor of the stored shape.
torch::Tensor read_bytes(const H5::Group& g, const std::string& name);
/// write_bytes / read_bytes for a byte string, e.g. a torch::serialize archive.
void write_blob(H5::Group& g, const std::string& name, const std::string& bytes);
std::string read_blob(const H5::Group& g, const std::string& name);

/// Write (or replace) a string attribute, stored as a scalar variable-length UTF-8 string.
void write_attribute(H5::H5Object& o, const std::string& name, const std::string& value);
/// Write (or replace) a string attribute from a C string (avoids picking the numeric overloads).
inline void write_attribute(H5::H5Object& o, const std::string& name, const char* value) {
  write_attribute(o, name, std::string(value));
}
/// Write (or replace) a scalar float64 attribute.
void write_attribute(H5::H5Object& o, const std::string& name, double value);
/// Write (or replace) a scalar int64 attribute.
void write_attribute(H5::H5Object& o, const std::string& name, int64_t value);
/// Any other integer type (int, unsigned, size_t, ...) is written as int64; out-of-range values throw H5Error.
template <class T,
          std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, int64_t>, int> = 0>
void write_attribute(H5::H5Object& o, const std::string& name, T value) {
  if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(int64_t)) {
    if (value > static_cast<T>(std::numeric_limits<int64_t>::max())) {
      throw H5Error("attribute '" + name + "': value " + std::to_string(value) + " does not fit in int64");
    }
  }
  write_attribute(o, name, static_cast<int64_t>(value));
}

/// Read a scalar string attribute (variable- or fixed-length).
std::string read_string_attribute(const H5::H5Object& o, const std::string& name);
/// Read a scalar numeric attribute as double (integer attributes are converted).
double read_double_attribute(const H5::H5Object& o, const std::string& name);
/// Read a scalar integer attribute as int64 (a float attribute is an error, never truncated).
int64_t read_int_attribute(const H5::H5Object& o, const std::string& name);
/// True if `o` has an attribute `name`.
bool has_attribute(const H5::H5Object& o, const std::string& name);

}  // namespace blockspin::io
