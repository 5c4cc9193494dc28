#pragma once
// A torch.distributed process group: PyTorch's own c10d engine (a TCPStore rendezvous served by
// rank 0, Gloo collectives over TCP, and NCCL's for CUDA tensors in builds against a LibTorch with
// CUDA and NCCL), joined from a core::LaunchSpec (torchrun, srun or --dist-url).
// c10d only says that a connection closed when a peer dies; every collective here turns that into
// which rank stopped and why: a rank that fails records its error in the store before it exits
// (run_as_rank), and every rank bumps a heartbeat counter in the store, so a killed rank is the one
// whose counter stands still. Only this file's .cpp includes c10d, which builds need not have
// (has_distributed_support()).
#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "brainsem/core/launch.h"

namespace brainsem::core {

// False when this build has no c10d/Gloo (LibTorch without distributed support or no gloo headers).
bool has_distributed_support();
// True when CUDA tensors are reduced and gathered by NCCL, GPU to GPU (a LibTorch with CUDA and NCCL).
bool has_nccl_support();

class ProcessGroup {
 public:
  // Connects every rank of `spec` (blocks until all have joined or `timeout` passes). The timeout
  // also bounds each collective: a rank that hangs without dying fails the job after it.
  ProcessGroup(const LaunchSpec& spec, std::chrono::milliseconds timeout);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const;
  int size() const;
  const LaunchSpec& spec() const;

  // Sums tensors over ranks, in place (each rank ends with the same sum). CUDA tensors stay on the
  // GPU with NCCL (has_nccl_support()); without it they cross through host copies and Gloo.
  void all_reduce_sum(std::vector<torch::Tensor>& tensors);
  // [n, ...] on every rank -> [size * n, ...], rank 0's rows first, on `local`'s device.
  torch::Tensor all_gather(const torch::Tensor& local);
  void barrier();

  // Records this rank's error for the others to name (best effort, never throws).
  void report_failure(const std::string& why) noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs `body`; if it throws, the error is recorded for the other ranks before it propagates, so
// that they fail naming this rank and its reason. With no group, just runs `body`.
void run_as_rank(ProcessGroup* group, const std::function<void()>& body);

}  // namespace brainsem::core
