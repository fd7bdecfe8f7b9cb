// mnv3-sdk's native runner: loads a .pte with ExecuTorch's Module API, times its "forward" method
// and writes its outputs as raw bytes, so that the same program can be compared with the Python
// runtime on this machine, run under qemu-aarch64, and pushed to a phone.
//
// Built by mnv3_sdk.native.build against the shared libraries of PyPI's executorch wheel (C++17).
// Output (stdout), one fact per line, read by mnv3_sdk.native.run.parse_output:
//   model: PATH
//   threads: N
//   load: 12.345 ms            (Module load with full verification + load_method("forward"))
//   input 0: float32 [1, 3, 96, 96] 110592 bytes
//   output 0: float32 [1, 1000] 4000 bytes
//   warmup: W
//   Iteration 1 of K: 12.345 ms   (the form bench/device.py already parses)
//   wrote outputs of FILE to FILE: 4000 bytes
//   wrote etdump to FILE: N bytes   (with --etdump: every run of forward, warm-up included)
// On failure: one line "error: ..." on stderr (naming the ExecuTorch error code where there is
// one) and exit 1, or 2 for a usage error.

#include <executorch/devtools/etdump/etdump_flatcc.h>
#include <executorch/extension/module/module.h>
#include <executorch/extension/tensor/tensor.h>
#include <executorch/runtime/core/error.h>
#include <executorch/runtime/core/exec_aten/util/scalar_type_util.h>
#include <executorch/runtime/platform/platform.h>
#include <executorch/runtime/platform/runtime.h>

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

// The wheel ships libexecutorch_threadpool.so but not threadpool.h (it includes pthreadpool.h,
// which is not shipped either). These are the two exported functions we call, as declared in
// extension/threadpool/threadpool.h (v1.5.1); the class is only ever used through the pointer
// that get_threadpool() returns, so its data members need not be declared here.
namespace executorch::extension::threadpool {
class ThreadPool final {
 public:
  size_t get_thread_count() const;
  bool _unsafe_reset_threadpool(uint32_t num_threads);
};
ThreadPool* get_threadpool();
}  // namespace executorch::extension::threadpool

namespace {

using executorch::aten::ScalarType;
using executorch::extension::TensorPtr;
using executorch::extension::module::Module;
using executorch::runtime::Error;
using executorch::runtime::EValue;

// Markers for an instruction-counting qemu plugin (plugin.c): write(2) to fd -1 fails with EBADF
// everywhere and has no effect, and the plugin recognises the call by these byte counts. Only sent
// with --count-markers, around each timed iteration and outside its clock.
constexpr size_t kMarkerBegin = 0x4d4e5630;  // "MNV0"
constexpr size_t kMarkerEnd = 0x4d4e5631;    // "MNV1"

struct Failure : std::runtime_error {
  int exit_code;
  Failure(const std::string& message, int code = 1) : std::runtime_error(message), exit_code(code) {}
};

std::string describe(Error error) {
  // to_string gives "Error::InvalidProgram"; the number is what ExecuTorch's logs and issues use.
  std::ostringstream text;
  const char* name = executorch::runtime::to_string(error);
  if (std::strncmp(name, "Error::", 7) == 0) name += 7;
  text << "ExecuTorch error 0x" << std::hex << static_cast<unsigned>(error) << " (" << name << ")";
  return text.str();
}

void check(Error error, const std::string& what) {
  if (error != Error::Ok) throw Failure(what + ": " + describe(error));
}

// Lower-case names as torch prints them, so that the Python side maps them to numpy dtypes.
std::string dtype_name(ScalarType type) {
  switch (type) {
    case ScalarType::Float: return "float32";
    case ScalarType::Half: return "float16";
    case ScalarType::Byte: return "uint8";
    case ScalarType::Char: return "int8";
    case ScalarType::Int: return "int32";
    case ScalarType::Long: return "int64";
    default: return std::string("other:") + executorch::runtime::toString(type);
  }
}

template <typename Sizes>
std::string shape_text(const Sizes& sizes) {
  std::string text = "[";
  for (size_t i = 0; i < sizes.size(); ++i) text += (i ? ", " : "") + std::to_string(sizes[i]);
  return text + "]";
}

struct Options {
  std::string model;
  int threads = 1;
  int warmup = 1;
  int iterations = 10;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  bool count_markers = false;
  std::string etdump;
  bool log = false;
};

const char* kUsage =
    "usage: runner --model PATH [--threads N] [--warmup W] [--iterations K]\n"
    "              [--input FILE]... [--output FILE]... [--count-markers] [--etdump FILE] [--log]\n"
    "  --input FILE   raw little-endian bytes of every input tensor, concatenated (default: a\n"
    "                 deterministic input, value i = (i * 31 + 7) % 256); repeat for several inputs\n"
    "  --output FILE  raw bytes of every output tensor of the matching --input (or of the default\n"
    "                 input), concatenated; as many as inputs\n"
    "  --count-markers  bracket each timed iteration with marker syscalls for the qemu plugin\n"
    "  --etdump FILE    record ExecuTorch's event tracer (XNNPACK's per-operator events) to FILE\n"
    "  --log          show ExecuTorch's own log lines on stderr\n";

int parse_count(const std::string& flag, const std::string& value, int minimum) {
  char* end = nullptr;
  long parsed = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || parsed < minimum || parsed > 1000000)
    throw Failure(flag + " needs an integer >= " + std::to_string(minimum) + ", got '" + value + "'", 2);
  return static_cast<int>(parsed);
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--count-markers") { options.count_markers = true; continue; }
    if (flag == "--log") { options.log = true; continue; }
    if (flag == "--help" || flag == "-h") { std::fputs(kUsage, stdout); std::exit(0); }
    std::string value;
    size_t equals = flag.find('=');
    if (flag.rfind("--", 0) == 0 && equals != std::string::npos) {  // --flag=value
      value = flag.substr(equals + 1);
      flag.resize(equals);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      throw Failure("unknown option or missing value: " + flag, 2);
    }
    if (flag == "--model") options.model = value;
    else if (flag == "--threads") options.threads = parse_count(flag, value, 1);
    else if (flag == "--warmup") options.warmup = parse_count(flag, value, 0);
    else if (flag == "--iterations") options.iterations = parse_count(flag, value, 0);
    else if (flag == "--input") options.inputs.push_back(value);
    else if (flag == "--output") options.outputs.push_back(value);
    else if (flag == "--etdump") options.etdump = value;
    else throw Failure("unknown option: " + flag, 2);
  }
  if (options.model.empty()) throw Failure("--model PATH is required", 2);
  size_t runs = options.inputs.empty() ? 1 : options.inputs.size();
  if (!options.outputs.empty() && options.outputs.size() != runs)
    throw Failure(std::to_string(options.outputs.size()) + " --output file(s) for " + std::to_string(runs) +
                  " input(s): give one per input", 2);
  return options;
}

// The method's inputs, backed by byte buffers that outlive the tensors pointing at them.
struct Inputs {
  std::vector<std::vector<uint8_t>> buffers;
  std::vector<TensorPtr> tensors;
  std::vector<EValue> values;
};

void fill_default(std::vector<uint8_t>& buffer, ScalarType type, size_t count) {
  // Integers 0..255: exact in every dtype here, and the range of the RGB input our models take.
  for (size_t i = 0; i < count; ++i) {
    auto value = static_cast<uint8_t>((i * 31 + 7) % 256);
    switch (type) {
      case ScalarType::Float: reinterpret_cast<float*>(buffer.data())[i] = value; break;
      case ScalarType::Half: reinterpret_cast<executorch::aten::Half*>(buffer.data())[i] = value; break;
      case ScalarType::Byte: buffer[i] = value; break;
      case ScalarType::Char: reinterpret_cast<int8_t*>(buffer.data())[i] = static_cast<int8_t>(value - 128); break;
      default: throw Failure("no default input for dtype " + dtype_name(type) + ": pass --input FILE");
    }
  }
}

Inputs make_inputs(const executorch::runtime::MethodMeta& meta, const std::string& file) {
  std::vector<uint8_t> bytes;
  if (!file.empty()) {
    std::ifstream stream(file, std::ios::binary);
    if (!stream) throw Failure("cannot read input file " + file + ": " + std::strerror(errno));
    bytes.assign(std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>());
  }
  Inputs inputs;
  size_t offset = 0;
  for (size_t i = 0; i < meta.num_inputs(); ++i) {
    auto info = meta.input_tensor_meta(i);
    check(info.error(), "reading input " + std::to_string(i) + "'s tensor info (only tensor inputs are supported)");
    size_t nbytes = info->nbytes();
    size_t elements = nbytes / executorch::runtime::elementSize(info->scalar_type());
    std::vector<uint8_t> buffer(nbytes);
    if (file.empty()) {
      fill_default(buffer, info->scalar_type(), elements);
    } else {
      if (offset + nbytes > bytes.size())
        throw Failure("input file " + file + " has " + std::to_string(bytes.size()) + " bytes; the model's inputs need " +
                      std::to_string(offset + nbytes) + " or more");
      std::memcpy(buffer.data(), bytes.data() + offset, nbytes);
    }
    offset += nbytes;
    std::vector<executorch::aten::SizesType> sizes(info->sizes().begin(), info->sizes().end());
    inputs.buffers.push_back(std::move(buffer));
    inputs.tensors.push_back(executorch::extension::from_blob(inputs.buffers.back().data(), sizes, info->scalar_type()));
  }
  if (!file.empty() && offset != bytes.size())
    throw Failure("input file " + file + " has " + std::to_string(bytes.size()) + " bytes; the model's inputs take " +
                  std::to_string(offset));
  for (auto& tensor : inputs.tensors) inputs.values.emplace_back(*tensor);
  return inputs;
}

std::vector<EValue> run_once(Module& module, const Inputs& inputs) {
  auto result = module.execute("forward", inputs.values);
  check(result.error(), "executing forward");
  return std::move(*result);
}

void write_outputs(const std::vector<EValue>& outputs, const std::string& input, const std::string& path) {
  std::ofstream stream(path, std::ios::binary | std::ios::trunc);
  if (!stream) throw Failure("cannot write output file " + path + ": " + std::strerror(errno));
  size_t total = 0;
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (!outputs[i].isTensor()) throw Failure("output " + std::to_string(i) + " is not a tensor");
    const auto& tensor = outputs[i].toTensor();
    stream.write(static_cast<const char*>(tensor.const_data_ptr()), static_cast<std::streamsize>(tensor.nbytes()));
    total += tensor.nbytes();
  }
  stream.close();
  if (!stream) throw Failure("writing output file " + path + " failed");
  std::printf("wrote outputs of %s to %s: %zu bytes\n", input.c_str(), path.c_str(), total);
}

void write_etdump(const Module& module, const std::string& path) {
  auto* tracer = static_cast<executorch::etdump::ETDumpGen*>(module.event_tracer());
  executorch::etdump::ETDumpResult result = tracer->get_etdump_data();
  if (result.buf == nullptr) throw Failure("the event tracer recorded nothing for " + path);
  std::ofstream stream(path, std::ios::binary);
  stream.write(static_cast<const char*>(result.buf), static_cast<std::streamsize>(result.size));
  stream.close();
  std::free(result.buf);  // get_etdump_data hands over a malloc'ed copy
  if (!stream) throw Failure("writing the etdump " + path + " failed");
  std::printf("wrote etdump to %s: %zu bytes\n", path.c_str(), result.size);
}

void drop_log_message(et_timestamp_t, et_pal_log_level_t, const char*, const char*, size_t, const char*, size_t) {}

void marker(size_t which) {
  // A raw syscall, not write(): the C library must not short-cut fd -1 or buffer it. It fails
  // (EBADF on Linux, EFAULT under qemu, which checks the buffer first) and changes nothing.
  long ignored = syscall(SYS_write, -1L, nullptr, which);
  (void)ignored;
}

int run(const Options& options) {
  if (!options.log) {
    // ExecuTorch logs several lines per failure on stderr; the one-line error below names the step
    // and the error code, and --log shows the rest.
    executorch::runtime::register_pal(executorch::runtime::PalImpl::create(drop_log_message, __FILE__));
  }
  executorch::runtime::runtime_init();
  // Before the program is loaded: resetting the pool under loaded XNNPACK delegates frees the
  // threads they hold (the same rule as the Python runtime, docs/toolchain.md).
  auto* pool = executorch::extension::threadpool::get_threadpool();
  if (pool == nullptr) throw Failure("ExecuTorch's threadpool is not available");
  if (!pool->_unsafe_reset_threadpool(static_cast<uint32_t>(options.threads)))
    throw Failure("cannot resize ExecuTorch's threadpool to " + std::to_string(options.threads) + " threads");

  auto started = std::chrono::steady_clock::now();
  // With an event tracer the XNNPACK delegate turns on XNNPACK's own per-operator profiling.
  std::unique_ptr<executorch::etdump::ETDumpGen> tracer;
  if (!options.etdump.empty()) tracer = std::make_unique<executorch::etdump::ETDumpGen>();
  Module module(options.model, Module::LoadMode::File, std::move(tracer));
  // InternalConsistency checks the flatbuffer's structure: a damaged file is an error, not a crash.
  check(module.load(executorch::runtime::Program::Verification::InternalConsistency), "loading " + options.model);
  check(module.load_method("forward"), "loading method forward of " + options.model);
  double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  auto meta = module.method_meta("forward");
  check(meta.error(), "reading method forward's metadata");

  std::printf("model: %s\nthreads: %zu\nload: %.3f ms\n", options.model.c_str(), pool->get_thread_count(), load_ms);
  for (size_t i = 0; i < meta->num_inputs(); ++i) {
    auto info = meta->input_tensor_meta(i);
    check(info.error(), "reading input " + std::to_string(i) + "'s tensor info");
    std::printf("input %zu: %s %s %zu bytes\n", i, dtype_name(info->scalar_type()).c_str(), shape_text(info->sizes()).c_str(),
                info->nbytes());
  }
  for (size_t i = 0; i < meta->num_outputs(); ++i) {
    auto info = meta->output_tensor_meta(i);
    check(info.error(), "reading output " + std::to_string(i) + "'s tensor info");
    std::printf("output %zu: %s %s %zu bytes\n", i, dtype_name(info->scalar_type()).c_str(),
                shape_text(info->sizes()).c_str(), info->nbytes());
  }

  std::vector<std::string> files = options.inputs.empty() ? std::vector<std::string>{""} : options.inputs;
  Inputs timed = make_inputs(*meta, files[0]);
  std::printf("warmup: %d\n", options.warmup);
  for (int i = 0; i < options.warmup; ++i) run_once(module, timed);
  for (int i = 1; i <= options.iterations; ++i) {
    if (options.count_markers) marker(kMarkerBegin);
    auto begin = std::chrono::steady_clock::now();
    auto result = module.execute("forward", timed.values);
    auto end = std::chrono::steady_clock::now();
    if (options.count_markers) marker(kMarkerEnd);
    check(result.error(), "executing forward (iteration " + std::to_string(i) + ")");
    std::printf("Iteration %d of %d: %.3f ms\n", i, options.iterations,
                std::chrono::duration<double, std::milli>(end - begin).count());
  }
  if (!options.etdump.empty()) write_etdump(module, options.etdump);
  std::fflush(stdout);
  // Each input runs once more, untimed, for its output file: the outputs of a method alias its
  // planned memory and are only valid until the next execution.
  for (size_t i = 0; i < options.outputs.size(); ++i) {
    Inputs inputs = i == 0 ? std::move(timed) : make_inputs(*meta, files[i]);
    write_outputs(run_once(module, inputs), files[i].empty() ? "the default input" : files[i], options.outputs[i]);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_options(argc, argv));
  } catch (const Failure& failure) {
    std::fflush(stdout);
    // One line, also for usage errors: callers show it as it is (--help prints the usage).
    std::fprintf(stderr, "error: %s\n", failure.what());
    return failure.exit_code;
  } catch (const std::exception& error) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  }
}
