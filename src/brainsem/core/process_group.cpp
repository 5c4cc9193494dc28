#include "brainsem/core/process_group.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <thread>

#include "brainsem/core/error.h"

#ifdef BRAINSEM_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef BRAINSEM_HAVE_NCCL
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace brainsem::core {

namespace {
std::string failed_key(int rank) { return "brainsem/failed/" + std::to_string(rank); }
std::string heartbeat_key(int rank) { return "brainsem/heartbeat/" + std::to_string(rank); }
constexpr auto kHeartbeatPeriod = std::chrono::milliseconds(500);

// A collective that failed because another rank stopped: not this rank's own failure, so it is not
// recorded for the others (they name the rank that really stopped).
class PeerStopped : public Error {
 public:
  using Error::Error;
};
}  // namespace

#ifdef BRAINSEM_HAVE_GLOO

bool has_distributed_support() { return true; }
#ifdef BRAINSEM_HAVE_NCCL
bool has_nccl_support() { return true; }
#else
bool has_nccl_support() { return false; }
#endif

struct ProcessGroup::Impl {
  LaunchSpec spec;
  std::chrono::milliseconds timeout;
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;  // CPU tensors, barriers
#ifdef BRAINSEM_HAVE_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;  // CUDA tensors, device to device
#endif

  // The heartbeat has its own store connection: the main one may be blocked in a collective's
  // rendezvous, and a stopped counter must mean a stopped process.
  std::thread heartbeat;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;

  // CUDA tensors go to NCCL when this build has it; everything else to Gloo, through the host.
  static bool via_nccl([[maybe_unused]] bool cuda) {
#ifdef BRAINSEM_HAVE_NCCL
    return cuda;
#else
    return false;
#endif
  }

  std::string where() const { return cat(spec.master_addr, ":", spec.master_port); }

  c10::intrusive_ptr<c10d::TCPStore> connect_store(bool server) const {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<std::uint16_t>(spec.master_port);
    opts.isServer = server;
    opts.timeout = timeout;
    if (server) {
      opts.numWorkers = static_cast<std::size_t>(spec.world_size);
    }
    opts.waitWorkers = false;  // the process group's own rendezvous waits for every rank
    return c10::make_intrusive<c10d::TCPStore>(spec.master_addr, opts);
  }

  void start_heartbeat() {
    auto beat_store = connect_store(false);
    heartbeat = std::thread([this, beat_store] {
      std::unique_lock<std::mutex> lock(mu);
      while (!stopping) {
        try {
          beat_store->add(heartbeat_key(spec.rank), 1);
        } catch (const std::exception&) {
          return;  // the store has gone: rank 0 stopped, which the collectives report
        }
        cv.wait_for(lock, kHeartbeatPeriod, [this] { return stopping; });
      }
    });
  }

  // Why a collective failed: the ranks that recorded an error, else the ranks whose heartbeat stood
  // still, else rank 0 when the store itself is gone.
  std::string who_stopped(const std::string& what, const std::string& c10d_error) {
    std::string reason;
    try {
      std::vector<int> silent;
      std::vector<int64_t> before(spec.world_size);
      for (int r = 0; r < spec.world_size; ++r) {
        if (r == spec.rank) continue;
        if (store->check({failed_key(r)})) {
          const auto bytes = store->get(failed_key(r));
          reason += cat(reason.empty() ? "" : "; ", "rank ", r, " failed: ", std::string(bytes.begin(), bytes.end()));
        }
        before[r] = store->add(heartbeat_key(r), 0);
      }
      if (reason.empty()) {
        std::this_thread::sleep_for(4 * kHeartbeatPeriod);
        for (int r = 0; r < spec.world_size; ++r)
          if (r != spec.rank && store->add(heartbeat_key(r), 0) == before[r]) silent.push_back(r);
        for (int r : silent) reason += cat(reason.empty() ? "" : "; ", "rank ", r, " stopped (killed or lost)");
      }
    } catch (const std::exception&) {
      reason = cat("rank 0 stopped (the rendezvous store it served at ", where(), " is gone)");
    }
    if (reason.empty()) reason = "no rank reported an error";
    return cat("distributed ", what, " failed on rank ", spec.rank, " of ", spec.world_size, ": ", reason,
               "; rerun the whole job to resume (c10d: ", first_line(c10d_error), ")");
  }

  static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

  template <typename Op>
  void collective(const std::string& what, Op op) {
    try {
      auto work = op();
      work->wait(timeout);
    } catch (const std::exception& e) {
      throw PeerStopped(who_stopped(what, e.what()));
    }
  }
};

ProcessGroup::ProcessGroup(const LaunchSpec& spec, std::chrono::milliseconds timeout) : impl_(new Impl) {
  impl_->spec = spec;
  impl_->timeout = timeout;
  // A write to a peer that has gone must fail the collective with an error that names the peer,
  // not end this process silently by SIGPIPE's default action (Python ignores SIGPIPE, so PyTorch's
  // own jobs never meet it).
  std::signal(SIGPIPE, SIG_IGN);
  try {
    impl_->store = impl_->connect_store(spec.rank == 0);
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    // Loopback jobs (tests, one machine) stay on 127.0.0.1; otherwise GLOO_SOCKET_IFNAME or this
    // host's own address, as PyTorch chooses.
    const bool loopback = spec.master_addr == "localhost" || spec.master_addr.rfind("127.", 0) == 0;
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"))
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (loopback)
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    impl_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, spec.rank, spec.world_size, opts);
#ifdef BRAINSEM_HAVE_NCCL
    // NCCL's communicators are made at the first CUDA collective, for that tensor's GPU; its keys
    // live under their own prefix in the same store. Without blocking wait (NCCL's default), wait()
    // only orders the current CUDA stream after the collective: the host does not stop.
    auto nccl_opts = c10d::ProcessGroupNCCL::Options::create();
    nccl_opts->timeout = timeout;
    impl_->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(
        c10::make_intrusive<c10d::PrefixStore>("nccl", impl_->store), spec.rank, spec.world_size, nccl_opts);
#endif
    impl_->start_heartbeat();  // its own store connection, which can fail like the first
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail(spec.source, ": could not join the process group at ", impl_->where(), " within ", timeout.count() / 1000,
         " s (are all ", spec.world_size,
         " ranks started, with the same MASTER_ADDR/MASTER_PORT?): ", Impl::first_line(e.what()));
  }
}

ProcessGroup::~ProcessGroup() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->heartbeat.joinable()) impl_->heartbeat.join();
}

namespace {
// Host copies of CUDA tensors for Gloo; CPU tensors are returned as they are (no copy).
std::vector<torch::Tensor> on_host(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> host;
  host.reserve(tensors.size());
  for (const auto& t : tensors) host.push_back(t.to(torch::kCPU));
  return host;
}
}  // namespace

void ProcessGroup::all_reduce_sum(std::vector<torch::Tensor>& tensors) {
  const bool nccl =
      impl_->via_nccl(std::any_of(tensors.begin(), tensors.end(), [](const torch::Tensor& t) { return t.is_cuda(); }));
  auto staged = nccl ? tensors : on_host(tensors);
  impl_->collective("all-reduce", [&] {
#ifdef BRAINSEM_HAVE_NCCL
    if (nccl) return impl_->nccl->allreduce(staged);
#endif
    return impl_->gloo->allreduce(staged);
  });
  for (size_t i = 0; i < tensors.size(); ++i)
    if (!staged[i].is_same(tensors[i])) tensors[i].copy_(staged[i]);
}

torch::Tensor ProcessGroup::all_gather(const torch::Tensor& local) {
  const bool nccl = impl_->via_nccl(local.is_cuda());
  std::vector<torch::Tensor> input{(nccl ? local : local.to(torch::kCPU)).contiguous()};
  std::vector<std::vector<torch::Tensor>> output(1);
  for (int r = 0; r < size(); ++r) output[0].push_back(torch::empty_like(input[0]));
  impl_->collective("all-gather", [&] {
#ifdef BRAINSEM_HAVE_NCCL
    if (nccl) return impl_->nccl->allgather(output, input);
#endif
    return impl_->gloo->allgather(output, input);
  });
  return torch::cat(output[0], 0).to(local.device());
}

void ProcessGroup::barrier() {
  impl_->collective("barrier", [&] { return impl_->gloo->barrier(); });
}

void ProcessGroup::report_failure(const std::string& why) noexcept {
  try {
    impl_->store->set(failed_key(impl_->spec.rank), std::vector<uint8_t>(why.begin(), why.end()));
  } catch (...) {
  }
}

#else  // no c10d in this build

bool has_distributed_support() { return false; }
bool has_nccl_support() { return false; }

struct ProcessGroup::Impl {
  LaunchSpec spec;
};

ProcessGroup::ProcessGroup(const LaunchSpec& spec, std::chrono::milliseconds) {
  fail(spec.source,
       ": this build of BrainSem has no torch.distributed support (it was built without Gloo; install "
       "libgloo-dev and rebuild)");
}
ProcessGroup::~ProcessGroup() = default;
void ProcessGroup::all_reduce_sum(std::vector<torch::Tensor>&) {}
torch::Tensor ProcessGroup::all_gather(const torch::Tensor& local) { return local; }
void ProcessGroup::barrier() {}
void ProcessGroup::report_failure(const std::string&) noexcept {}

#endif

int ProcessGroup::rank() const { return impl_->spec.rank; }
int ProcessGroup::size() const { return impl_->spec.world_size; }
const LaunchSpec& ProcessGroup::spec() const { return impl_->spec; }

void run_as_rank(ProcessGroup* group, const std::function<void()>& body) {
  try {
    body();
  } catch (const PeerStopped&) {
    throw;
  } catch (const std::exception& e) {
    if (group) group->report_failure(e.what());
    throw;
  }
}

}  // namespace brainsem::core
