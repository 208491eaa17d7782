#pragma once
// The device kernels, callable from plain C++: each enqueues into a stream and checks the
// launch. Pure compute: no copies, no synchronisation, no timing.
#include <cuda_runtime_api.h>

#include <cstddef>

namespace pipebench::cuda {

// out[i] = q_d(in[i]) with d = degree Horner steps (2 * degree FLOPs per element, the CPU
// intensity kernel's q_d of kernels/simd.hpp, element by element):
//   y = x; d - 1 times y = y * x + c; out = y * x.
void launch_poly(const float* in, float* out, std::size_t count, int degree, float coefficient, cudaStream_t stream);

// For each of `batch` items laid out as [A | B] (two n x n row-major matrices) at ab, the
// n x n matrix C = A * B^T at c (C[i][j] = sum_k A[i][k] * B[j][k], as cpu/matmul computes it).
void launch_batched_matmul_nt(const float* ab, float* c, std::size_t batch, int n, cudaStream_t stream);

// One thread that spins until the host writes a non-zero value to *release (host memory mapped
// into the device), holding every step enqueued behind it in `stream`. It gives up after
// `timeout_ns` of the GPU's global timer, writing 1 to *timed_out, so a host that never
// releases it (an exception while issuing) cannot hang the device.
void launch_stream_blocker(const volatile int* release, volatile int* timed_out, unsigned long long timeout_ns,
                           cudaStream_t stream);

}  // namespace pipebench::cuda
