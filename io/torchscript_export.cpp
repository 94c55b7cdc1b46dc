// TorchScript export by mirroring and tracing (see torchscript_export.h).
#include "io/torchscript_export.h"

#include "lattice/kernels/mode.h"
#include "support/atomic_file.h"

#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/passes/fixup_trace_scope_blocks.h>
#include <torch/csrc/jit/passes/normalize_ops.h>
#include <torch/script.h>

#include <sstream>
#include <stdexcept>

namespace blockspin::io {

namespace {

// The jit::Module twin of a C++ module: the same parameter and buffer tensors, a `training` flag (eval() needs it),
// one uniquely named class per module.
torch::jit::Module mirror(const torch::nn::Module& m, const std::string& qualified_name) {
  torch::jit::Module jm{c10::QualifiedName(qualified_name)};
  for (const auto& p : m.named_parameters(/*recurse=*/false)) jm.register_parameter(p.key(), p.value(), false);
  for (const auto& b : m.named_buffers(/*recurse=*/false)) jm.register_buffer(b.key(), b.value());
  jm.register_attribute("training", c10::BoolType::get(), false);
  for (const auto& c : m.named_children())
    jm.register_module(c.key(), mirror(*c.value(), qualified_name + "_" + c.key()));
  return jm;
}

// The scripted entry point: shape check, then the traced single-configuration graph per batch entry.
const char* kForward = R"JIT(
def forward(self, U):
    ok = U.dim() == len(self.input_shape) + 1
    if ok:
        ok = U.shape[1:] == self.input_shape
    assert ok, "blockspin model: expected input of shape [B] + input_shape (see the input_shape attribute)"
    outs = [self.forward_one(U[i:i + 1]) for i in range(U.size(0))]
    return torch.cat(outs)
)JIT";

}  // namespace

void export_traced(torch::nn::Module& module,
                   const std::function<torch::Tensor(const std::vector<torch::Tensor>&)>& traced,
                   const TracedExport& spec, const std::filesystem::path& path) {
  if (spec.class_name.empty() || spec.examples.empty() || spec.examples.size() != spec.input_names.size())
    throw std::invalid_argument("export_traced: class_name, and one name per example input, are required");
  lattice::kernels::ModeGuard torch_path(lattice::kernels::Mode::torch);
  auto root = mirror(module, "__torch__.blockspin." + spec.class_name);
  auto fn_of_stack = [&](torch::jit::Stack inputs) -> torch::jit::Stack {
    std::vector<torch::Tensor> tensors;
    for (auto& v : inputs) tensors.push_back(v.toTensor());
    return {traced(tensors)};
  };
  auto no_names = [](const torch::autograd::Variable&) { return std::string(); };
  torch::jit::Stack examples(spec.examples.begin(), spec.examples.end());
  auto state = torch::jit::tracer::trace(std::move(examples), fn_of_stack, no_names, /*strict=*/true,
                                         /*force_outplace=*/false, &root, spec.input_names)
                   .first;
  auto graph = state->graph;
  torch::jit::FixupTraceScopeBlocks(graph, &root);
  torch::jit::NormalizeOps(graph);
  auto fn = root._ivalue()->compilation_unit()->create_function(c10::QualifiedName(*root.type()->name(), "forward_one"),
                                                                graph);
  root.type()->addMethod(fn);
  for (const auto& [name, value] : spec.attributes) root.register_attribute(name, value.type(), value);
  root.define(spec.script);
  root.eval();
  std::ostringstream bytes;
  root.save(bytes);
  support::write_file_atomic(path, bytes.str());
}

void export_torchscript(torch::nn::Module& module, const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                        const TorchScriptExportOptions& options, const std::filesystem::path& path) {
  if (options.class_name.empty() || options.input_shape.empty())
    throw std::invalid_argument("export_torchscript: class_name and input_shape are required");
  // An example configuration: random, so that no data-dependent branch sees a special value.
  std::vector<int64_t> shape{1};
  shape.insert(shape.end(), options.input_shape.begin(), options.input_shape.end());
  auto gen = at::make_generator<at::CPUGeneratorImpl>(12345);
  auto example = options.example.defined() ? options.example.detach().to(options.dtype)
                                           : torch::randn(shape, gen, torch::TensorOptions().dtype(options.dtype));
  if (example.sizes().vec() != shape)
    throw std::invalid_argument("export_torchscript: the example must have shape [1] + input_shape");
  TracedExport spec;
  spec.class_name = options.class_name;
  spec.examples = {example};
  spec.input_names = {"U"};
  spec.attributes = {{"input_shape", c10::IValue(options.input_shape)},
                     {"blockspin_metadata", c10::IValue(options.metadata.dump())}};
  spec.script = kForward;
  export_traced(
      module, [&](const std::vector<torch::Tensor>& in) { return forward(in.at(0)); }, spec, path);
}

}  // namespace blockspin::io
