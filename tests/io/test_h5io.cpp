// Tests for io/h5io: tensor datasets, attributes, atomic HDF5 writes and format-checked opening.
#include "io/h5io.h"

#include "io_test_helpers.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace blockspin::io {
namespace {

namespace fs = std::filesystem;
using testing::slurp;

// The message of the H5Error that `f` throws ("" and a test failure when it throws none).
template <class F>
std::string h5_error(F&& f) {
  try {
    f();
  } catch (const H5Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected an H5Error, got: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected an H5Error";
  return "";
}

// The message of the support::OutputError that a write `f` throws (writes are output errors, exit status 3).
template <class F>
std::string write_error(F&& f) {
  try {
    f();
  } catch (const support::OutputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected an OutputError, got: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected an OutputError";
  return "";
}

#define EXPECT_CONTAINS(text, part) EXPECT_NE((text).find(part), std::string::npos) << "message: " << (text)

// Bitwise equality of two tensors of the same dtype and shape (NaN payloads and signed zeros included).
::testing::AssertionResult bitwise_equal(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.scalar_type() != b.scalar_type()) {
    return ::testing::AssertionFailure() << "dtype " << a.scalar_type() << " vs " << b.scalar_type();
  }
  if (a.sizes() != b.sizes()) return ::testing::AssertionFailure() << "shape " << a.sizes() << " vs " << b.sizes();
  const torch::Tensor ab = a.contiguous().view({-1}).view(torch::kByte);
  const torch::Tensor bb = b.contiguous().view({-1}).view(torch::kByte);
  if (!torch::equal(ab, bb)) return ::testing::AssertionFailure() << "bytes differ";
  return ::testing::AssertionSuccess();
}

class H5Dir : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = fs::temp_directory_path() / ("blockspin_test_h5io_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // Sorted names of the entries in root_.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(root_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  // Write one tensor as dataset "t" of a fresh file and read it back.
  torch::Tensor round_trip(const torch::Tensor& t, int deflate = 0) {
    const fs::path file = root_ / "rt.h5";
    write_h5_atomic(file, "test", "0", [&](H5::H5File& f) { write_tensor(f, "t", t, deflate); });
    return read_tensor(open_h5(file, "test"), "t");
  }
  fs::path root_;
};

TEST_F(H5Dir, Complex128RoundTripIsBitwise) {
  torch::manual_seed(1);
  torch::Tensor U = torch::randn({2, 4, 3, 2, 3, 3}, torch::kComplexDouble);
  auto re = torch::view_as_real(U);  // a few special values that a lossy path would not keep bit for bit
  re.index_put_({0, 0, 0, 0, 0, 0, 0}, -0.0);
  re.index_put_({0, 0, 0, 0, 0, 1, 1}, std::numeric_limits<double>::infinity());
  re.index_put_({1, 3, 2, 1, 2, 2, 0}, std::numeric_limits<double>::denorm_min());
  re.index_put_({1, 3, 2, 1, 2, 2, 1}, 1.0 + std::numeric_limits<double>::epsilon());
  const torch::Tensor back = round_trip(U);
  EXPECT_EQ(back.scalar_type(), torch::kComplexDouble);
  EXPECT_TRUE(bitwise_equal(back, U));
  EXPECT_EQ(dataset_shape(open_h5(root_ / "rt.h5", "test"), "t"), (std::vector<int64_t>{2, 4, 3, 2, 3, 3}));
  // A non-contiguous view is stored in its logical order.
  const torch::Tensor view = U.transpose(0, 3).narrow(4, 1, 2);
  EXPECT_TRUE(bitwise_equal(round_trip(view), view.contiguous()));
  // Lazily conjugated / negated views (conj and neg bits) are stored with their values, not their raw memory.
  EXPECT_TRUE(bitwise_equal(round_trip(U.conj()), torch::conj_physical(U)));
  EXPECT_TRUE(bitwise_equal(round_trip(torch::imag(U.conj())), -torch::imag(U)));
}

TEST_F(H5Dir, ComplexCompoundTypeIsRIDoubles) {
  const fs::path file = root_ / "c.h5";
  write_h5_atomic(file, "test", "0",
                  [&](H5::H5File& f) { write_tensor(f, "z", torch::ones({3}, torch::kComplexFloat)); });
  const H5::H5File f = open_h5(file, "test");
  const H5::DataSet ds = f.openDataSet("z");
  ASSERT_EQ(ds.getTypeClass(), H5T_COMPOUND);
  const H5::CompType ct = ds.getCompType();
  ASSERT_EQ(ct.getNmembers(), 2);
  EXPECT_EQ(ct.getSize(), 16u);
  EXPECT_EQ(ct.getMemberName(0), "r");
  EXPECT_EQ(ct.getMemberName(1), "i");
  EXPECT_EQ(ct.getMemberOffset(0), 0u);
  EXPECT_EQ(ct.getMemberOffset(1), 8u);
  for (unsigned k = 0; k < 2; ++k) {
    EXPECT_EQ(ct.getMemberClass(k), H5T_FLOAT);
    EXPECT_EQ(ct.getMemberFloatType(k), H5::PredType::IEEE_F64LE);  // complex64 input is stored as double
  }
  EXPECT_EQ(complex128_type(), ct);
}

TEST_F(H5Dir, Complex64IsStoredAsDouble) {
  torch::manual_seed(2);
  const torch::Tensor z = torch::randn({5, 3}, torch::kComplexFloat);
  const torch::Tensor back = round_trip(z);
  EXPECT_EQ(back.scalar_type(), torch::kComplexDouble);
  EXPECT_TRUE(bitwise_equal(back, z.to(torch::kComplexDouble)));
  EXPECT_TRUE(bitwise_equal(back.to(torch::kComplexFloat), z));
}

TEST_F(H5Dir, RealAndIntegerTensors) {
  torch::manual_seed(3);
  const torch::Tensor f32 = torch::randn({4, 5});
  EXPECT_TRUE(bitwise_equal(round_trip(f32), f32.to(torch::kDouble)));
  const torch::Tensor f64 = torch::randn({3, 2, 2}, torch::kDouble) * 1e300;
  EXPECT_TRUE(bitwise_equal(round_trip(f64), f64));

  const torch::Tensor i64 = torch::tensor(
      {std::numeric_limits<int64_t>::min(), int64_t{-1}, int64_t{0}, std::numeric_limits<int64_t>::max()});
  EXPECT_TRUE(bitwise_equal(round_trip(i64), i64));
  const torch::Tensor i32 = torch::arange(-6, 6, torch::kInt).reshape({3, 4});
  EXPECT_TRUE(bitwise_equal(round_trip(i32), i32.to(torch::kLong)));
  const torch::Tensor u8 = torch::arange(0, 256, torch::kLong).to(torch::kByte);
  EXPECT_TRUE(bitwise_equal(round_trip(u8), torch::arange(0, 256, torch::kLong)));  // read_tensor gives int64
  const torch::Tensor b = torch::tensor({true, false, true});
  EXPECT_TRUE(bitwise_equal(round_trip(b), torch::tensor({int64_t{1}, int64_t{0}, int64_t{1}})));
  // Autograd tensors are detached.
  const torch::Tensor w = torch::randn({3}, torch::kDouble).requires_grad_();
  EXPECT_TRUE(bitwise_equal(round_trip(w), w.detach()));

  const fs::path file = root_ / "types.h5";
  write_h5_atomic(file, "test", "0", [&](H5::H5File& f) {
    write_tensor(f, "f", f32);
    write_tensor(f, "i", i32);
  });
  const H5::H5File h = open_h5(file, "test");
  EXPECT_EQ(h.openDataSet("f").getFloatType(), H5::PredType::IEEE_F64LE);
  EXPECT_EQ(h.openDataSet("i").getIntType(), H5::PredType::STD_I64LE);
}

TEST_F(H5Dir, ScalarTensors) {
  const torch::Tensor x = torch::tensor(2.5, torch::kDouble);
  const torch::Tensor back = round_trip(x);
  EXPECT_EQ(back.dim(), 0);
  EXPECT_TRUE(bitwise_equal(back, x));
  EXPECT_TRUE(dataset_shape(open_h5(root_ / "rt.h5", "test"), "t").empty());
  EXPECT_EQ(open_h5(root_ / "rt.h5", "test").openDataSet("t").getSpace().getSimpleExtentType(), H5S_SCALAR);

  const torch::Tensor z = torch::complex(torch::tensor(1.5, torch::kDouble), torch::tensor(-2.0, torch::kDouble));
  EXPECT_TRUE(bitwise_equal(round_trip(z, /*deflate=*/6), z));  // deflate is ignored for scalars
  const torch::Tensor n = torch::tensor(int64_t{-7});
  EXPECT_TRUE(bitwise_equal(round_trip(n), n));
  // Rows cannot be read from a scalar.
  EXPECT_CONTAINS(h5_error([&] { read_tensor_slice(open_h5(root_ / "rt.h5", "test"), "t", 0, 1); }), "scalar");
}

TEST_F(H5Dir, EmptyTensors) {
  const torch::Tensor e = torch::zeros({0, 3, 2}, torch::kComplexDouble);
  for (int deflate : {0, 4}) {
    const torch::Tensor back = round_trip(e, deflate);
    EXPECT_EQ(back.sizes(), e.sizes());
    EXPECT_EQ(back.scalar_type(), torch::kComplexDouble);
    EXPECT_EQ(read_tensor_slice(open_h5(root_ / "rt.h5", "test"), "t", 0, 0).sizes(), e.sizes());
  }
  EXPECT_EQ(round_trip(torch::zeros({4, 0})).sizes(), (std::vector<int64_t>{4, 0}));
}

TEST_F(H5Dir, SlicesOfAChunkedDataset) {
  torch::manual_seed(4);
  const torch::Tensor U = torch::randn({6, 4, 8, 8, 8, 3, 3}, torch::kComplexDouble);  // 288 KiB per configuration
  const torch::Tensor w = torch::randn({50, 1000}, torch::kDouble);                    // 8000 B rows: 32 per chunk
  const torch::Tensor phi = torch::randn({7, 3});                                      // all in one chunk
  const fs::path file = root_ / "ensemble.h5";
  write_h5_atomic(file, "ensemble", "1", [&](H5::H5File& f) {
    H5::Group g = f.createGroup("configs");
    write_tensor(g, "U", U, /*deflate=*/4);
    write_tensor(g, "w", w, /*deflate=*/1);
    write_tensor(g, "phi", phi, /*deflate=*/9);
    write_tensor(g, "plain", phi);
  });
  const H5::H5File f = open_h5(file, "ensemble");
  const H5::Group g = f.openGroup("configs");
  auto chunk_of = [&](const std::string& name) {
    const H5::DSetCreatPropList plist = g.openDataSet(name).getCreatePlist();
    EXPECT_EQ(plist.getLayout(), H5D_CHUNKED) << name;
    EXPECT_EQ(plist.getNfilters(), 1) << name;  // deflate
    std::vector<hsize_t> chunk(static_cast<std::size_t>(g.openDataSet(name).getSpace().getSimpleExtentNdims()));
    plist.getChunk(static_cast<int>(chunk.size()), chunk.data());
    return chunk;
  };
  EXPECT_EQ(chunk_of("U"), (std::vector<hsize_t>{1, 4, 8, 8, 8, 3, 3}));
  EXPECT_EQ(chunk_of("w"), (std::vector<hsize_t>{32, 1000}));
  EXPECT_EQ(chunk_of("phi"), (std::vector<hsize_t>{7, 3}));
  EXPECT_EQ(g.openDataSet("plain").getCreatePlist().getLayout(), H5D_CONTIGUOUS);

  EXPECT_TRUE(bitwise_equal(read_tensor(g, "U"), U));
  for (int64_t first = 0; first < 6; ++first) {
    EXPECT_TRUE(bitwise_equal(read_tensor_slice(g, "U", first, 1), U.narrow(0, first, 1))) << first;
  }
  EXPECT_TRUE(bitwise_equal(read_tensor_slice(g, "U", 2, 3), U.narrow(0, 2, 3)));
  EXPECT_TRUE(bitwise_equal(read_tensor_slice(g, "U", 0, 6), U));
  EXPECT_EQ(read_tensor_slice(g, "U", 6, 0).sizes(), (std::vector<int64_t>{0, 4, 8, 8, 8, 3, 3}));
  EXPECT_TRUE(bitwise_equal(read_tensor(g, "w"), w));
  EXPECT_TRUE(bitwise_equal(read_tensor_slice(g, "w", 30, 5), w.narrow(0, 30, 5)));  // across a chunk boundary
  EXPECT_TRUE(bitwise_equal(read_tensor_slice(g, "w", 49, 1), w.narrow(0, 49, 1)));
  for (const char* name : {"phi", "plain"}) {
    EXPECT_TRUE(bitwise_equal(read_tensor(g, name), phi.to(torch::kDouble))) << name;
    EXPECT_TRUE(bitwise_equal(read_tensor_slice(g, name, 2, 3), phi.narrow(0, 2, 3).to(torch::kDouble))) << name;
  }

  const std::string msg = h5_error([&] { read_tensor_slice(g, "U", 4, 3); });
  EXPECT_CONTAINS(msg, file.string());
  EXPECT_CONTAINS(msg, "dataset '/configs/U'");
  EXPECT_CONTAINS(msg, "rows [4, 7) out of range: dim 0 has 6 rows");
  EXPECT_CONTAINS(h5_error([&] { read_tensor_slice(g, "U", -1, 1); }), "out of range");
  EXPECT_CONTAINS(h5_error([&] { read_tensor_slice(g, "U", 0, -1); }), "out of range");
  EXPECT_CONTAINS(h5_error([&] { read_tensor_slice(g, "U", 7, 0); }), "out of range");
}

TEST_F(H5Dir, Attributes) {
  const std::string json =
      R"({"action": "wilson", "note": "β = 6.0, Ω", "emoji": "🙂", "shape": [16, 16, 16, 32], "pad": ")" +
      std::string(5000, 'x') + "\"}";
  const fs::path file = root_ / "attrs.h5";
  write_h5_atomic(file, "checkpoint", "0.1.0", [&](H5::H5File& f) {
    write_attribute(f, "config", json);
    write_attribute(f, "empty", std::string());
    write_attribute(f, "literal", "text");  // const char* is a string, not a number
    write_attribute(f, "beta", 6.0);
    write_attribute(f, "tiny", -std::numeric_limits<double>::denorm_min());
    write_attribute(f, "step", int64_t{123456789012345});
    write_attribute(f, "min", std::numeric_limits<int64_t>::min());
    write_attribute(f, "count", 42);  // int
    write_attribute(f, "size", std::size_t{7});
    write_attribute(f, "replaced", 1.0);
    write_attribute(f, "replaced", "now a string");  // replaces, also across types
    H5::DataSet ds = f.createDataSet("d", H5::PredType::STD_I64LE, H5::DataSpace(H5S_SCALAR));
    write_attribute(ds, "units", "lattice");
  });
  const H5::H5File f = open_h5(file, "checkpoint");
  EXPECT_EQ(read_string_attribute(f, "config"), json);
  EXPECT_EQ(read_string_attribute(f, "empty"), "");
  EXPECT_EQ(read_string_attribute(f, "literal"), "text");
  EXPECT_EQ(read_double_attribute(f, "beta"), 6.0);
  EXPECT_EQ(read_double_attribute(f, "tiny"), -std::numeric_limits<double>::denorm_min());
  EXPECT_EQ(read_int_attribute(f, "step"), 123456789012345);
  EXPECT_EQ(read_int_attribute(f, "min"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(read_int_attribute(f, "count"), 42);
  EXPECT_EQ(read_int_attribute(f, "size"), 7);
  EXPECT_EQ(read_double_attribute(f, "count"), 42.0);  // integers convert to double
  EXPECT_EQ(read_string_attribute(f, "replaced"), "now a string");
  EXPECT_EQ(read_string_attribute(f.openDataSet("d"), "units"), "lattice");
  EXPECT_EQ(read_string_attribute(f, kFormatAttribute), "checkpoint");
  EXPECT_EQ(read_string_attribute(f, kVersionAttribute), "0.1.0");
  EXPECT_TRUE(has_attribute(f, "beta"));
  EXPECT_FALSE(has_attribute(f, "nope"));

  // Stored as scalar variable-length UTF-8 strings (what h5py reads as str).
  const H5::Attribute a = f.openAttribute("config");
  EXPECT_EQ(a.getSpace().getSimpleExtentType(), H5S_SCALAR);
  const H5::StrType st = a.getStrType();
  EXPECT_TRUE(st.isVariableStr());
  EXPECT_EQ(st.getCset(), H5T_CSET_UTF8);
  EXPECT_EQ(f.openAttribute("beta").getFloatType(), H5::PredType::IEEE_F64LE);
  EXPECT_EQ(f.openAttribute("step").getIntType(), H5::PredType::STD_I64LE);

  // Errors name the file and the attribute.
  std::string msg = h5_error([&] { read_double_attribute(f, "nope"); });
  EXPECT_CONTAINS(msg, file.string());
  EXPECT_CONTAINS(msg, "attribute 'nope'");
  EXPECT_CONTAINS(msg, "no such attribute");
  msg = h5_error([&] { read_int_attribute(f, "beta"); });
  EXPECT_CONTAINS(msg, "attribute 'beta'");
  EXPECT_CONTAINS(msg, "not an integer attribute");
  EXPECT_CONTAINS(h5_error([&] { read_string_attribute(f, "beta"); }), "not a string attribute");
  EXPECT_CONTAINS(h5_error([&] { read_double_attribute(f, "config"); }), "not a numeric attribute");
  msg = h5_error([&] { read_string_attribute(f.openDataSet("d"), "nope"); });
  EXPECT_CONTAINS(msg, "attribute 'nope' of '/d'");
}

TEST_F(H5Dir, AttributeValuesThatCannotBeStored) {
  const fs::path file = root_ / "bad.h5";
  EXPECT_CONTAINS(write_error([&] {
                    write_h5_atomic(file, "test", "0",
                                    [&](H5::H5File& f) { write_attribute(f, "s", std::string("a\0b", 3)); });
                  }),
                  "NUL");
  EXPECT_CONTAINS(write_error([&] {
                    write_h5_atomic(file, "test", "0",
                                    [&](H5::H5File& f) { write_attribute(f, "s", std::string("\xff\xfe")); });
                  }),
                  "not valid UTF-8");
  EXPECT_CONTAINS(write_error([&] {
                    write_h5_atomic(file, "test", "0", [&](H5::H5File& f) {
                      write_attribute(f, "big", std::numeric_limits<uint64_t>::max());
                    });
                  }),
                  "does not fit in int64");
  EXPECT_TRUE(entries().empty());
}

TEST_F(H5Dir, BytesRoundTripExactly) {
  auto gen = at::detail::createCPUGenerator(12345);
  torch::randn({10}, gen);  // advance the state
  const torch::Tensor state = gen.get_state();
  ASSERT_EQ(state.scalar_type(), torch::kByte);
  const torch::Tensor blob = torch::arange(0, 256, torch::kLong).to(torch::kByte).flip(0).reshape({4, 64});
  const fs::path file = root_ / "ckpt.h5";
  write_h5_atomic(file, "checkpoint", "0", [&](H5::H5File& f) {
    H5::Group g = f.createGroup("rng");
    write_bytes(g, "cpu", state);
    write_bytes(f, "blob", blob);
    write_bytes(f, "none", torch::empty({0}, torch::kByte));
    write_tensor(f, "floats", torch::ones({3}));
  });
  const H5::H5File f = open_h5(file, "checkpoint");
  const torch::Tensor state_back = read_bytes(f.openGroup("rng"), "cpu");
  EXPECT_TRUE(bitwise_equal(state_back, state));
  EXPECT_TRUE(bitwise_equal(read_bytes(f, "rng/cpu"), state));
  EXPECT_TRUE(bitwise_equal(read_bytes(f, "blob"), blob));
  EXPECT_EQ(read_bytes(f, "none").numel(), 0);
  EXPECT_EQ(f.openDataSet("blob").getIntType(), H5::PredType::STD_U8LE);

  // The restored generator continues the same stream.
  auto gen2 = at::detail::createCPUGenerator(0);
  gen2.set_state(state_back);
  EXPECT_TRUE(torch::equal(torch::randn({5}, gen), torch::randn({5}, gen2)));

  EXPECT_CONTAINS(h5_error([&] { read_bytes(f, "floats"); }), "not a uint8");
  EXPECT_CONTAINS(write_error([&] {
                    write_h5_atomic(root_ / "x.h5", "test", "0",
                                    [&](H5::H5File& g) { write_bytes(g, "b", torch::ones({3})); });
                  }),
                  "needs a uint8 tensor");
}

TEST_F(H5Dir, DatasetErrorsNameFileAndDataset) {
  const fs::path file = root_ / "data.h5";
  std::string msg = write_error([&] {
    write_h5_atomic(file, "fp_data", "0", [&](H5::H5File& f) {
      H5::Group g = f.createGroup("fp");
      write_tensor(g, "x", torch::ones({2}));
      write_tensor(g, "x", torch::ones({2}));
    });
  });
  EXPECT_CONTAINS(msg, "'" + file.string() + "': dataset '/fp/x': already exists");  // the target, not the temp file
  EXPECT_EQ(msg.find(".tmp."), std::string::npos) << msg;
  EXPECT_TRUE(entries().empty());

  EXPECT_CONTAINS(write_error([&] {
                    write_h5_atomic(file, "fp_data", "0",
                                    [&](H5::H5File& f) { write_tensor(f, "x", torch::ones({2}), 10); });
                  }),
                  "deflate level must be in 0..9, got 10");

  write_h5_atomic(file, "fp_data", "0", [&](H5::H5File& f) {
    H5::Group g = f.createGroup("fp");
    write_tensor(g, "x", torch::ones({2}));
    // Foreign compounds: wrong member names, and r/i of float32.
    H5::CompType ab(std::size_t{16});
    ab.insertMember("a", 0, H5::PredType::IEEE_F64LE);
    ab.insertMember("b", 8, H5::PredType::IEEE_F64LE);
    const hsize_t n = 2;
    f.createDataSet("ab", ab, H5::DataSpace(1, &n));
    H5::CompType c64(std::size_t{8});
    c64.insertMember("r", 0, H5::PredType::IEEE_F32LE);
    c64.insertMember("i", 4, H5::PredType::IEEE_F32LE);
    f.createDataSet("c64", c64, H5::DataSpace(1, &n));
    f.createDataSet("str", H5::StrType(H5::PredType::C_S1, 8), H5::DataSpace(1, &n));
  });
  const H5::H5File f = open_h5(file, "fp_data");
  EXPECT_TRUE(has_dataset(f, "fp/x"));
  EXPECT_TRUE(has_dataset(f, "/fp/x"));
  EXPECT_TRUE(has_dataset(f.openGroup("fp"), "x"));
  EXPECT_FALSE(has_dataset(f, "fp"));  // a group
  EXPECT_FALSE(has_dataset(f, "y"));
  EXPECT_FALSE(has_dataset(f, "no/such/path"));
  EXPECT_FALSE(has_dataset(f, ""));

  msg = h5_error([&] { read_tensor(f.openGroup("fp"), "missing"); });
  EXPECT_CONTAINS(msg, file.string());
  EXPECT_CONTAINS(msg, "dataset '/fp/missing'");
  EXPECT_CONTAINS(msg, "no such dataset");
  EXPECT_CONTAINS(h5_error([&] { dataset_shape(f, "no/such/x"); }), "no such dataset");
  EXPECT_CONTAINS(h5_error([&] { read_tensor(f, "ab"); }), "not a complex number");
  EXPECT_CONTAINS(h5_error([&] { read_tensor(f, "c64"); }), "not a complex number");
  msg = h5_error([&] { read_tensor_slice(f, "str", 0, 1); });
  EXPECT_CONTAINS(msg, "dataset '/str'");
  EXPECT_CONTAINS(msg, "unsupported");
}

TEST_F(H5Dir, OpenRejectsTruncatedAndForeignFiles) {
  const fs::path file = root_ / "ens.h5";
  const torch::Tensor U = torch::randn({8, 2, 4, 4, 3, 3}, torch::kComplexDouble);
  write_h5_atomic(file, "ensemble", "0", [&](H5::H5File& f) { write_tensor(f, "U", U); });
  ASSERT_NO_THROW(open_h5(file, "ensemble"));
  fs::resize_file(file, fs::file_size(file) / 2);
  std::string msg = h5_error([&] { open_h5(file, "ensemble"); });
  EXPECT_CONTAINS(msg, "'" + file.string() + "' is not an HDF5 file (truncated or foreign?)");
  EXPECT_CONTAINS(h5_error([&] { open_h5(file, ""); }), "not an HDF5 file");

  const fs::path text = root_ / "notes.h5";
  std::ofstream(text) << "this is not HDF5\n";
  EXPECT_EQ(h5_error([&] { open_h5(text, "ensemble"); }),
            "'" + text.string() + "' is not an HDF5 file (truncated or foreign?)");
  const fs::path empty = root_ / "empty.h5";
  std::ofstream(empty).close();
  EXPECT_CONTAINS(h5_error([&] { open_h5(empty, "ensemble"); }), "'" + empty.string() + "' is not an HDF5 file");
  fs::resize_file(file, 100);  // only the superblock signature remains
  EXPECT_CONTAINS(h5_error([&] { open_h5(file, "ensemble"); }), "'" + file.string() + "' is not an HDF5 file");

  EXPECT_EQ(h5_error([&] { open_h5(root_ / "missing.h5", "ensemble"); }),
            "'" + (root_ / "missing.h5").string() + "' does not exist");
  EXPECT_CONTAINS(h5_error([&] { open_h5(root_, "ensemble"); }), "is not a regular file");
}

TEST_F(H5Dir, OpenChecksTheFormat) {
  const fs::path file = root_ / "ckpt.h5";
  write_h5_atomic(file, "checkpoint", "0", [](H5::H5File&) {});
  EXPECT_EQ(h5_error([&] { open_h5(file, "ensemble"); }),
            "'" + file.string() + "' is a blockspin 'checkpoint' file, expected 'ensemble'");
  EXPECT_NO_THROW(open_h5(file, "checkpoint"));
  EXPECT_NO_THROW(open_h5(file, ""));

  const fs::path foreign = root_ / "foreign.h5";
  { H5::H5File(foreign.string(), H5F_ACC_TRUNC).createGroup("data"); }
  EXPECT_EQ(h5_error([&] { open_h5(foreign, "ensemble"); }),
            "'" + foreign.string() + "' has no blockspin_format attribute (not written by blockspin)");
  EXPECT_NO_THROW(open_h5(foreign, ""));
}

TEST_F(H5Dir, ExceptionInFillLeavesNothingBehind) {
  const fs::path file = root_ / "out.h5";
  EXPECT_THROW(write_h5_atomic(file, "ensemble", "0",
                               [](H5::H5File& f) {
                                 write_tensor(f, "x", torch::ones({100}));
                                 throw std::logic_error("boom");
                               }),
               std::logic_error);
  EXPECT_FALSE(fs::exists(file));
  EXPECT_TRUE(entries().empty());

  // An existing target stays untouched, byte for byte.
  write_h5_atomic(file, "ensemble", "0", [](H5::H5File& f) { write_tensor(f, "x", torch::arange(5)); });
  const std::string before = slurp(file);
  EXPECT_THROW(write_h5_atomic(file, "ensemble", "1", [](H5::H5File&) { throw std::runtime_error("boom"); }),
               std::runtime_error);
  // A raw H5Cpp exception inside fill becomes an OutputError naming the target.
  const std::string msg = write_error(
      [&] { write_h5_atomic(file, "ensemble", "1", [](H5::H5File& f) { f.openDataSet("does_not_exist"); }); });
  EXPECT_CONTAINS(msg, "cannot write '" + file.string() + "'");
  EXPECT_EQ(slurp(file), before);
  EXPECT_EQ(entries(), std::vector<std::string>{"out.h5"});
  EXPECT_TRUE(bitwise_equal(read_tensor(open_h5(file, "ensemble"), "x"), torch::arange(5)));
}

TEST_F(H5Dir, OverwriteReplacesAtomically) {
  const fs::path file = root_ / "fp.h5";
  write_h5_atomic(file, "fp_data", "1", [](H5::H5File& f) { write_tensor(f, "x", torch::ones({1000})); });
  write_h5_atomic(file, "checkpoint", "2", [](H5::H5File& f) { write_tensor(f, "y", torch::zeros({3})); });
  EXPECT_EQ(entries(), std::vector<std::string>{"fp.h5"});
  const H5::H5File f = open_h5(file, "checkpoint");
  EXPECT_FALSE(has_dataset(f, "x"));
  EXPECT_TRUE(bitwise_equal(read_tensor(f, "y"), torch::zeros({3}, torch::kDouble)));
  EXPECT_EQ(read_string_attribute(f, kVersionAttribute), "2");
}

TEST_F(H5Dir, WriteFailuresAreReported) {
  const fs::path missing_dir = root_ / "no_such_dir" / "out.h5";
  std::string msg = write_error([&] { write_h5_atomic(missing_dir, "ensemble", "0", [](H5::H5File&) {}); });
  EXPECT_CONTAINS(msg, "cannot write '" + missing_dir.string() + "'");
  EXPECT_CONTAINS(msg, "creating temporary file");

  fs::create_directory(root_ / "dir.h5");  // the target is a directory: the rename fails
  msg = write_error([&] { write_h5_atomic(root_ / "dir.h5", "ensemble", "0", [](H5::H5File&) {}); });
  EXPECT_CONTAINS(msg, "cannot write '" + (root_ / "dir.h5").string() + "'");
  EXPECT_CONTAINS(msg, "renaming");

  // Objects left open by `fill` would keep the file open past the rename.
  H5::DataSet leaked;
  msg = write_error([&] {
    write_h5_atomic(root_ / "leak.h5", "ensemble", "0", [&](H5::H5File& f) {
      leaked = f.createDataSet("d", H5::PredType::STD_I64LE, H5::DataSpace(H5S_SCALAR));
    });
  });
  EXPECT_CONTAINS(msg, "still open");
  leaked.close();
  EXPECT_EQ(entries(), std::vector<std::string>{"dir.h5"});
}

TEST_F(H5Dir, DamagedDataFailTheirChecksum) {
  // A single flipped bit in a dataset's data (here the lowest mantissa bit of one double) is found by the CRC32
  // that every dataset carries; the same file undamaged reads back bitwise.
  const fs::path file = root_ / "crc.h5";
  const auto x = torch::linspace(0, 1, 512, torch::kDouble);
  write_h5_atomic(file, "test", "0", [&](H5::H5File& f) {
    write_tensor(f, "x", x);
    write_bytes(f, "b", torch::arange(200, torch::kByte));
  });
  EXPECT_TRUE(bitwise_equal(read_tensor(open_h5(file, "test"), "x"), x));
  for (const char* name : {"x", "b"}) {
    haddr_t offset = 0;
    {
      const H5::H5File f = open_h5(file, "test");
      offset = H5Dget_offset(f.openDataSet(name).getId());
    }
    ASSERT_NE(offset, HADDR_UNDEF);
    std::fstream s(file, std::ios::in | std::ios::out | std::ios::binary);
    s.seekg(static_cast<std::streamoff>(offset) + 64);
    const char c = static_cast<char>(s.get());
    s.seekp(static_cast<std::streamoff>(offset) + 64);
    s.put(static_cast<char>(c ^ 0x01));
  }
  const H5::H5File f = open_h5(file, "test");
  EXPECT_CONTAINS(h5_error([&] { read_tensor(f, "x"); }), "CRC32");
  EXPECT_CONTAINS(h5_error([&] { read_bytes(f, "b"); }), "CRC32");
}

}  // namespace
}  // namespace blockspin::io
