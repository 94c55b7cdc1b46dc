// HDF5 files of the apps: atomic whole-file writes, format-checked opening, tensors as datasets, attributes.
#include "io/h5io.h"

#include "support/atomic_file.h"

#include <fmt/format.h>
#include <zlib.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <cerrno>
#include <system_error>
#include <utility>

namespace blockspin::io {

namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------------------------------------------------------
// Error handling. HDF5 prints nothing; instead, whenever an HDF5 API call fails, record_error() keeps the innermost
// (most specific) message of the error stack, so that the H5Error can say *why* (e.g. "truncated file: eof = ...").
// It is captured at the failure itself because any later HDF5 call (even a close during unwinding) clears the stack.

thread_local std::string last_h5_error;

herr_t keep_innermost(unsigned n, const H5E_error2_t* err, void* data) {
  if (n == 0 && err != nullptr && err->desc != nullptr) *static_cast<std::string*>(data) = err->desc;
  return 0;
}

herr_t record_error(hid_t stack, void*) {
  std::string msg;
  H5Ewalk2(stack, H5E_WALK_UPWARD, keep_innermost, &msg);
  last_h5_error = msg;
  return 0;
}

// Switch off HDF5's error printing (and record failures instead). Cheap; called by every entry point.
void quiet() {
  H5::Exception::dontPrint();
  H5Eset_auto2(H5E_DEFAULT, record_error, nullptr);
  last_h5_error.clear();
}

// The reason for a failed HDF5 call: the recorded innermost message, else the C++ exception's.
std::string reason(const H5::Exception& e) {
  std::string r = last_h5_error.empty() ? e.getDetailMsg() : last_h5_error;
  last_h5_error.clear();
  return r.empty() ? std::string("HDF5 error") : r;
}

// Name of the file holding object `id` (never throws).
std::string file_name_of(hid_t id) {
  const ssize_t n = H5Fget_name(id, nullptr, 0);
  if (n < 0) return "<unknown file>";
  std::string s(static_cast<std::size_t>(n) + 1, '\0');
  if (H5Fget_name(id, s.data(), s.size()) < 0) return "<unknown file>";
  s.resize(static_cast<std::size_t>(n));
  return s;
}

// Path of object `id` inside its file, "/" for the root and for file ids (never throws).
std::string object_path_of(hid_t id) {
  if (H5Iget_type(id) == H5I_FILE) return "/";
  const ssize_t n = H5Iget_name(id, nullptr, 0);
  if (n <= 0) return "/";
  std::string s(static_cast<std::size_t>(n) + 1, '\0');
  if (H5Iget_name(id, s.data(), s.size()) < 0) return "/";
  s.resize(static_cast<std::size_t>(n));
  return s;
}

std::string join(const std::string& base, const std::string& name) {
  if (!name.empty() && name.front() == '/') return name;
  return base == "/" ? "/" + name : base + "/" + name;
}

// What an operation is about, for messages: "'FILE': dataset '/g/x'" or "'FILE': attribute 'a' of '/g'".
std::string describe(const H5::IdComponent& loc, const char* kind, const std::string& name) {
  const hid_t id = loc.getId();
  const std::string file = file_name_of(id);
  const std::string base = object_path_of(id);
  if (std::string(kind) == "attribute") return fmt::format("'{}': attribute '{}' of '{}'", file, name, base);
  return fmt::format("'{}': {} '{}'", file, kind, join(base, name));
}

// Runs `f`, turning HDF5 exceptions into H5Error naming the file and the object. `f` may call `fail(msg)`.
template <class F>
auto guarded(const H5::IdComponent& loc, const char* kind, const std::string& name, F&& f) {
  quiet();
  try {
    return f([&](const std::string& msg) { return H5Error(describe(loc, kind, name) + ": " + msg); });
  } catch (const H5::Exception& e) {
    const std::string why = reason(e);
    throw H5Error(describe(loc, kind, name) + ": " + why);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Types.

H5::CompType complex_type(const H5::PredType& member) {
  H5::CompType t(2 * sizeof(double));
  t.insertMember("r", 0, member);
  t.insertMember("i", sizeof(double), member);
  return t;
}
// std::complex<double> / c10::complex<double> in memory: {re, im} as two native doubles.
H5::CompType complex_memory_type() { return complex_type(H5::PredType::NATIVE_DOUBLE); }

// How a dataset is read: torch dtype and HDF5 memory type.
struct ReadAs {
  torch::Dtype dtype;
  H5::DataType mem_type;
};

template <class Fail>
ReadAs read_as(const H5::DataSet& ds, Fail&& fail) {
  switch (ds.getTypeClass()) {
    case H5T_COMPOUND: {
      const H5::CompType ct = ds.getCompType();
      const int n = ct.getNmembers();
      bool ok = n == 2;
      for (int k = 0; ok && k < n; ++k) {
        const std::string m = ct.getMemberName(static_cast<unsigned>(k));
        ok = (m == "r" || m == "i") && ct.getMemberClass(static_cast<unsigned>(k)) == H5T_FLOAT &&
             ct.getMemberDataType(static_cast<unsigned>(k)).getSize() == sizeof(double);
      }
      if (ok) ok = ct.getMemberName(0) != ct.getMemberName(1);
      if (!ok) throw fail("compound type is not a complex number {r: float64, i: float64}");
      return {torch::kComplexDouble, complex_memory_type()};
    }
    case H5T_FLOAT:
      return {torch::kDouble, H5::PredType::NATIVE_DOUBLE};
    case H5T_INTEGER:
      return {torch::kLong, H5::PredType::NATIVE_INT64};
    default:
      throw fail("unsupported HDF5 type class (expected float, integer or complex compound)");
  }
}

// Dims of a dataspace ({} for scalar); a null dataspace is an error.
template <class Fail>
std::vector<hsize_t> dims_of(const H5::DataSpace& space, Fail&& fail) {
  const H5S_class_t cls = space.getSimpleExtentType();
  if (cls == H5S_SCALAR) return {};
  if (cls != H5S_SIMPLE) throw fail("dataset has a null dataspace (no data)");
  std::vector<hsize_t> dims(static_cast<std::size_t>(space.getSimpleExtentNdims()));
  space.getSimpleExtentDims(dims.data());
  return dims;
}

std::vector<int64_t> to_shape(const std::vector<hsize_t>& dims) { return {dims.begin(), dims.end()}; }

// Does link `name` (possibly "a/b/c") exist below `g`? Checks each component so that missing groups give false.
bool link_exists(const H5::Group& g, const std::string& name) {
  if (name.empty()) return false;
  std::string prefix = name.front() == '/' ? "/" : "";
  std::size_t pos = name.front() == '/' ? 1 : 0;
  while (pos <= name.size()) {
    const std::size_t slash = name.find('/', pos);
    const std::string part = name.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    if (!part.empty()) {
      prefix += (prefix.empty() || prefix.back() == '/') ? part : "/" + part;
      if (!g.nameExists(prefix)) return false;
    }
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  return !prefix.empty() && prefix != "/";
}

template <class Fail>
H5::DataSet open_dataset(const H5::Group& g, const std::string& name, Fail&& fail) {
  if (!has_dataset(g, name)) throw fail("no such dataset");
  return g.openDataSet(name);
}

// CRC32 of a contiguous CPU tensor's bytes.
int64_t crc32_of(const torch::Tensor& c) {
  const auto* bytes = static_cast<const Bytef*>(c.data_ptr());
  const std::size_t n = static_cast<std::size_t>(c.numel()) * c.element_size();
  return static_cast<int64_t>(crc32_z(crc32_z(0L, Z_NULL, 0), n > 0 ? bytes : Z_NULL, n));
}

// Create dataset `name` from a contiguous CPU tensor `c` whose element layout is `mem_type`.
template <class Fail>
void create_dataset(H5::Group& g, const std::string& name, const torch::Tensor& c, const H5::DataType& file_type,
                    const H5::DataType& mem_type, int deflate, Fail&& fail) {
  if (name.empty()) throw fail("empty dataset name");
  if (link_exists(g, name)) throw fail("already exists");
  if (deflate < 0 || deflate > 9) throw fail(fmt::format("deflate level must be in 0..9, got {}", deflate));
  const std::vector<hsize_t> dims(c.sizes().begin(), c.sizes().end());
  const H5::DataSpace space =
      dims.empty() ? H5::DataSpace(H5S_SCALAR) : H5::DataSpace(static_cast<int>(dims.size()), dims.data());
  H5::DSetCreatPropList plist;
  H5Pset_obj_track_times(plist.getId(), false);  // no timestamps: identical data gives identical files
  if (deflate > 0 && !dims.empty() && c.numel() > 0) {
    if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) <= 0) throw fail("the HDF5 library has no deflate (gzip) filter");
    // Chunks of whole rows along dim 0: about 256 KiB (fits HDF5's default 1 MiB chunk cache, so reading row by row
    // decompresses each chunk once) but at least one row; rows over 1 GiB are split (HDF5 chunks must be < 4 GiB).
    const hsize_t elem = file_type.getSize();
    std::vector<hsize_t> chunk = dims;
    chunk[0] = 1;
    auto bytes = [&] {
      hsize_t b = elem;
      for (hsize_t d : chunk) b *= d;
      return b;
    };
    constexpr hsize_t kMaxChunk = hsize_t{1} << 30, kTargetChunk = hsize_t{1} << 18;
    while (bytes() > kMaxChunk) {
      std::size_t big = 1;
      for (std::size_t k = 1; k < chunk.size(); ++k)
        if (chunk[k] > chunk[big]) big = k;
      chunk[big] = (chunk[big] + 1) / 2;
    }
    chunk[0] = std::clamp<hsize_t>(kTargetChunk / bytes(), 1, dims[0]);
    plist.setChunk(static_cast<int>(chunk.size()), chunk.data());
    plist.setDeflate(deflate);
  }
  H5::DataSet ds = g.createDataSet(name, file_type, space, plist);
  if (c.numel() > 0) ds.write(c.data_ptr(), mem_type);
  // The checksum of the data as they read back (same memory type), verified by every whole-dataset read.
  const H5::Attribute crc = ds.createAttribute(kChecksumAttribute, H5::PredType::STD_I64LE, H5::DataSpace(H5S_SCALAR));
  const int64_t value = crc32_of(c);
  crc.write(H5::PredType::NATIVE_INT64, &value);
}

// Throws `fail(...)` when the dataset carries a checksum that `data` (read whole) does not match.
template <class Fail>
void verify_checksum(const H5::DataSet& ds, const torch::Tensor& data, Fail&& fail) {
  if (!ds.attrExists(kChecksumAttribute)) return;  // files written before checksums existed
  int64_t stored = 0;
  ds.openAttribute(kChecksumAttribute).read(H5::PredType::NATIVE_INT64, &stored);
  const int64_t actual = crc32_of(data);
  if (stored != actual)
    throw fail(fmt::format("data fail their CRC32 check (stored {:08x}, computed {:08x}): the file is damaged", stored,
                           actual));
}

// Read rows [first, first + count) of dim 0 (all of it when `rows` is false).
torch::Tensor read_impl(const H5::Group& g, const std::string& name, bool rows, int64_t first, int64_t count) {
  return guarded(g, "dataset", name, [&](auto fail) {
    const H5::DataSet ds = open_dataset(g, name, fail);
    const ReadAs as = read_as(ds, fail);
    H5::DataSpace file_space = ds.getSpace();
    std::vector<hsize_t> dims = dims_of(file_space, fail);
    if (rows) {
      if (dims.empty()) throw fail("cannot read rows of a scalar dataset");
      const auto n = static_cast<int64_t>(dims[0]);
      if (first < 0 || count < 0 || first > n || count > n - first) {
        throw fail(fmt::format("rows [{}, {}) out of range: dim 0 has {} rows", first, first + count, n));
      }
      dims[0] = static_cast<hsize_t>(count);
    }
    torch::Tensor out = torch::empty(to_shape(dims), torch::TensorOptions().dtype(as.dtype));
    if (out.numel() == 0) return out;
    if (rows) {
      std::vector<hsize_t> start(dims.size(), 0);
      start[0] = static_cast<hsize_t>(first);
      file_space.selectHyperslab(H5S_SELECT_SET, dims.data(), start.data());
      const H5::DataSpace mem_space(static_cast<int>(dims.size()), dims.data());
      ds.read(out.data_ptr(), as.mem_type, mem_space, file_space);
    } else {
      ds.read(out.data_ptr(), as.mem_type);
      verify_checksum(ds, out, fail);
    }
    return out;
  });
}

bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

// Open scalar attribute `name` of `o` (error if missing or not a single element).
template <class Fail>
H5::Attribute open_scalar_attribute(const H5::H5Object& o, const std::string& name, Fail&& fail) {
  if (!o.attrExists(name)) throw fail("no such attribute");
  H5::Attribute a = o.openAttribute(name);
  if (a.getSpace().getSimpleExtentNpoints() != 1) throw fail("attribute is not a single value");
  return a;
}

// Create attribute `name` (replacing an existing one) with a scalar dataspace.
H5::Attribute create_scalar_attribute(H5::H5Object& o, const std::string& name, const H5::DataType& type) {
  if (o.attrExists(name)) o.removeAttr(name);
  return o.createAttribute(name, type, H5::DataSpace(H5S_SCALAR));
}

}  // namespace

// -----------------------------------------------------------------------------------------------------------------

void write_h5_atomic(const fs::path& path, const std::string& format, const std::string& version,
                     const std::function<void(H5::H5File&)>& fill) {
  quiet();
  if (!path.has_filename())
    throw support::OutputError(fmt::format("cannot write '{}': not a file path", path.string()));
  auto error = [&](const std::string& what) {
    return support::OutputError(fmt::format("cannot write '{}': {}", path.string(), what));
  };
  // The file is built in memory (HDF5's core driver, no backing store; named like the target so that messages name
  // it) and its image written by support::write_file_atomic. HDF5 itself never writes to disk: a full disk or a
  // file-size limit is an ordinary write error there, never a half-closed HDF5 file (HDF5 crashes at exit after a
  // failed close).
  std::string image;
  try {
    H5::FileAccPropList fapl;
    if (H5Pset_fapl_core(fapl.getId(), std::size_t{1} << 20, /*backing_store=*/false) < 0)
      throw error("cannot set up an in-memory HDF5 file");
    H5::H5File file = [&] {
      try {
        return H5::H5File(path.string(), H5F_ACC_TRUNC, H5::FileCreatPropList::DEFAULT, fapl);
      } catch (const H5::Exception& e) {
        throw error(fmt::format("creating the in-memory file: {}", reason(e)));
      }
    }();
    try {
      write_attribute(file, kFormatAttribute, format);
      write_attribute(file, kVersionAttribute, version);
      fill(file);
    } catch (const H5Error& e) {  // already names the file and the object
      throw support::OutputError(e.what());
    }
    quiet();
    file.flush(H5F_SCOPE_LOCAL);
    const ssize_t open_objects =
        file.getObjCount(H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_DATATYPE | H5F_OBJ_ATTR | H5F_OBJ_LOCAL);
    if (open_objects != 0) {
      throw error(fmt::format("{} HDF5 object(s) opened while filling the file are still open", open_objects));
    }
    const ssize_t size = H5Fget_file_image(file.getId(), nullptr, 0);
    if (size < 0) throw error("cannot take the in-memory file's image");
    image.resize(static_cast<std::size_t>(size));
    if (H5Fget_file_image(file.getId(), image.data(), image.size()) != size) throw error("incomplete file image");
    file.close();
  } catch (const H5::Exception& e) {  // raw H5Cpp calls inside `fill`
    throw error(reason(e));
  }
  support::write_file_atomic(path, image);
}

H5::H5File open_h5(const fs::path& path, const std::string& expected_format) {
  quiet();
  const std::string p = path.string();
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) throw H5Error(fmt::format("'{}' does not exist", p));
  if (!fs::is_regular_file(st)) throw H5Error(fmt::format("'{}' is not a regular file", p));
  if (::access(path.c_str(), R_OK) != 0) {
    throw H5Error(fmt::format("cannot read '{}': {}", p, std::generic_category().message(errno)));
  }
  const std::string not_hdf5 = fmt::format("'{}' is not an HDF5 file (truncated or foreign?)", p);
  bool signature = false;
  try {
    signature = H5::H5File::isHdf5(p);
  } catch (const H5::Exception&) {
    signature = false;
  }
  if (!signature) throw H5Error(not_hdf5);

  H5::H5File file;
  try {
    file.openFile(p, H5F_ACC_RDONLY);
  } catch (const H5::Exception& e) {
    throw H5Error(not_hdf5 + ": " + reason(e));
  }
  if (expected_format.empty()) return file;
  if (!has_attribute(file, kFormatAttribute)) {
    throw H5Error(fmt::format("'{}' has no {} attribute (not written by blockspin)", p, kFormatAttribute));
  }
  const std::string format = read_string_attribute(file, kFormatAttribute);
  if (format != expected_format) {
    throw H5Error(fmt::format("'{}' is a blockspin '{}' file, expected '{}'", p, format, expected_format));
  }
  return file;
}

H5::CompType complex128_type() { return complex_type(H5::PredType::IEEE_F64LE); }

void write_tensor(H5::Group& g, const std::string& name, const torch::Tensor& t, int deflate) {
  guarded(g, "dataset", name, [&](auto fail) {
    if (!t.defined()) throw fail("undefined tensor");
    // resolve_conj/resolve_neg: lazily conjugated or negated views must be materialised before taking data_ptr().
    torch::Tensor c = t.detach().to(torch::kCPU).resolve_conj().resolve_neg();
    if (c.is_complex()) {
      c = c.to(torch::kComplexDouble).contiguous();
      create_dataset(g, name, c, complex128_type(), complex_memory_type(), deflate, fail);
    } else if (c.is_floating_point()) {
      c = c.to(torch::kDouble).contiguous();
      create_dataset(g, name, c, H5::PredType::IEEE_F64LE, H5::PredType::NATIVE_DOUBLE, deflate, fail);
    } else {
      c = c.to(torch::kLong).contiguous();
      create_dataset(g, name, c, H5::PredType::STD_I64LE, H5::PredType::NATIVE_INT64, deflate, fail);
    }
  });
}

torch::Tensor read_tensor(const H5::Group& g, const std::string& name) { return read_impl(g, name, false, 0, 0); }

torch::Tensor read_tensor_slice(const H5::Group& g, const std::string& name, int64_t first, int64_t count) {
  return read_impl(g, name, true, first, count);
}

std::vector<int64_t> dataset_shape(const H5::Group& g, const std::string& name) {
  return guarded(g, "dataset", name, [&](auto fail) {
    const H5::DataSet ds = open_dataset(g, name, fail);
    return to_shape(dims_of(ds.getSpace(), fail));
  });
}

bool has_dataset(const H5::Group& g, const std::string& name) {
  return guarded(g, "dataset", name,
                 [&](auto) { return link_exists(g, name) && g.childObjType(name) == H5O_TYPE_DATASET; });
}

void write_bytes(H5::Group& g, const std::string& name, const torch::Tensor& uint8_tensor) {
  guarded(g, "dataset", name, [&](auto fail) {
    if (!uint8_tensor.defined()) throw fail("undefined tensor");
    if (uint8_tensor.scalar_type() != torch::kByte) {
      throw fail(fmt::format("write_bytes needs a uint8 tensor, got {}", c10::toString(uint8_tensor.scalar_type())));
    }
    const torch::Tensor c = uint8_tensor.detach().to(torch::kCPU).contiguous();
    create_dataset(g, name, c, H5::PredType::STD_U8LE, H5::PredType::NATIVE_UINT8, 0, fail);
  });
}

torch::Tensor read_bytes(const H5::Group& g, const std::string& name) {
  return guarded(g, "dataset", name, [&](auto fail) {
    const H5::DataSet ds = open_dataset(g, name, fail);
    bool ok = ds.getTypeClass() == H5T_INTEGER;
    if (ok) {
      const H5::IntType it = ds.getIntType();
      ok = it.getSize() == 1 && it.getSign() == H5T_SGN_NONE;
    }
    if (!ok) throw fail("not a uint8 (byte) dataset");
    const std::vector<hsize_t> dims = dims_of(ds.getSpace(), fail);
    torch::Tensor out = torch::empty(to_shape(dims), torch::TensorOptions().dtype(torch::kByte));
    if (out.numel() > 0) ds.read(out.data_ptr(), H5::PredType::NATIVE_UINT8);
    verify_checksum(ds, out, fail);
    return out;
  });
}

void write_blob(H5::Group& g, const std::string& name, const std::string& bytes) {
  auto t = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kUInt8);
  if (!bytes.empty()) std::memcpy(t.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  write_bytes(g, name, t);
}

std::string read_blob(const H5::Group& g, const std::string& name) {
  const auto t = read_bytes(g, name).contiguous();
  return std::string(reinterpret_cast<const char*>(t.data_ptr<uint8_t>()), static_cast<size_t>(t.numel()));
}

void write_attribute(H5::H5Object& o, const std::string& name, const std::string& value) {
  guarded(o, "attribute", name, [&](auto fail) {
    if (value.find('\0') != std::string::npos) throw fail("string contains a NUL character");
    if (!valid_utf8(value)) throw fail("string is not valid UTF-8");
    const H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
    type.setCset(H5T_CSET_UTF8);
    const H5::Attribute a = create_scalar_attribute(o, name, type);
    a.write(type, value);
  });
}

void write_attribute(H5::H5Object& o, const std::string& name, double value) {
  guarded(o, "attribute", name, [&](auto) {
    const H5::Attribute a = create_scalar_attribute(o, name, H5::PredType::IEEE_F64LE);
    a.write(H5::PredType::NATIVE_DOUBLE, &value);
  });
}

void write_attribute(H5::H5Object& o, const std::string& name, int64_t value) {
  guarded(o, "attribute", name, [&](auto) {
    const H5::Attribute a = create_scalar_attribute(o, name, H5::PredType::STD_I64LE);
    a.write(H5::PredType::NATIVE_INT64, &value);
  });
}

std::string read_string_attribute(const H5::H5Object& o, const std::string& name) {
  return guarded(o, "attribute", name, [&](auto fail) {
    const H5::Attribute a = open_scalar_attribute(o, name, fail);
    if (a.getTypeClass() != H5T_STRING) throw fail("not a string attribute");
    std::string value;
    a.read(a.getStrType(), value);
    return value;
  });
}

double read_double_attribute(const H5::H5Object& o, const std::string& name) {
  return guarded(o, "attribute", name, [&](auto fail) {
    const H5::Attribute a = open_scalar_attribute(o, name, fail);
    const H5T_class_t cls = a.getTypeClass();
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) throw fail("not a numeric attribute");
    double value = 0;
    a.read(H5::PredType::NATIVE_DOUBLE, &value);
    return value;
  });
}

int64_t read_int_attribute(const H5::H5Object& o, const std::string& name) {
  return guarded(o, "attribute", name, [&](auto fail) {
    const H5::Attribute a = open_scalar_attribute(o, name, fail);
    if (a.getTypeClass() != H5T_INTEGER) throw fail("not an integer attribute");
    int64_t value = 0;
    a.read(H5::PredType::NATIVE_INT64, &value);
    return value;
  });
}

bool has_attribute(const H5::H5Object& o, const std::string& name) {
  return guarded(o, "attribute", name, [&](auto) { return o.attrExists(name); });
}

}  // namespace blockspin::io
