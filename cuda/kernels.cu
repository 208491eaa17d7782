#include <algorithm>
#include <string>

#include "check.hpp"
#include "kernels.hpp"

namespace pipebench::cuda {

namespace {

constexpr int kPolyBlock = 256;

// One element per thread and a grid-stride loop for counts beyond one grid. Each thread's
// Horner steps form one dependent chain; the many resident warps hide the FMA latency.
__global__ void poly_kernel(const float* __restrict__ in, float* __restrict__ out, std::size_t count, int degree,
                            float c) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    const float x = in[i];
    float y = x;
    for (int d = 1; d < degree; ++d) y = fmaf(y, x, c);
    out[i] = y * x;
  }
}

// Square tiles of A and B staged in shared memory; a block computes one tile of one item's C.
constexpr int kTile = 16;

__global__ void batched_matmul_nt_kernel(const float* __restrict__ ab, float* __restrict__ c, int n) {
  const std::size_t item = blockIdx.z;
  const std::size_t nn = static_cast<std::size_t>(n) * n;
  const float* a = ab + item * 2 * nn;
  const float* b = a + nn;
  const int row = blockIdx.y * kTile + threadIdx.y;  // of A and C
  const int col = blockIdx.x * kTile + threadIdx.x;  // of C: a row of B
  const int b_row = blockIdx.x * kTile + threadIdx.y;
  __shared__ float a_tile[kTile][kTile];
  __shared__ float b_tile[kTile][kTile + 1];  // padded: column reads hit distinct banks
  float acc = 0.0f;
  for (int k0 = 0; k0 < n; k0 += kTile) {
    const int k = k0 + threadIdx.x;
    a_tile[threadIdx.y][threadIdx.x] = row < n && k < n ? a[static_cast<std::size_t>(row) * n + k] : 0.0f;
    b_tile[threadIdx.y][threadIdx.x] = b_row < n && k < n ? b[static_cast<std::size_t>(b_row) * n + k] : 0.0f;
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kTile; ++kk) acc = fmaf(a_tile[threadIdx.y][kk], b_tile[threadIdx.x][kk], acc);
    __syncthreads();
  }
  if (row < n && col < n) c[item * nn + static_cast<std::size_t>(row) * n + col] = acc;
}

// The GPU's nanosecond global timer (PTX %globaltimer), the same on every SM.
__device__ unsigned long long global_ns() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

__global__ void stream_blocker_kernel(const volatile int* release, volatile int* timed_out,
                                      unsigned long long timeout_ns) {
  const unsigned long long start = global_ns();
  while (*release == 0) {
    if (global_ns() - start > timeout_ns) {
      *timed_out = 1;
      return;
    }
  }
}

}  // namespace

namespace {
// cudaGetLastError() after a launch returns any error still pending in this thread; one found
// here, before the launch, belongs to an earlier call.
void check_no_earlier_error(const char* kernel, const char* file, int line) {
  if (const cudaError_t earlier = cudaGetLastError(); earlier != cudaSuccess)
    throw_error(earlier, (std::string("an earlier asynchronous call (its error found before launching ") + kernel + ")").c_str(),
                file, line);
}
}  // namespace

void launch_poly(const float* in, float* out, std::size_t count, int degree, float coefficient, cudaStream_t stream) {
  if (count == 0) return;
  // Enough blocks for one element per thread up to the grid's limit, where the loop takes over.
  const std::size_t blocks = std::min<std::size_t>((count + kPolyBlock - 1) / kPolyBlock, 0x7fffffff);
  // An error left by an earlier asynchronous call is that call's, not this launch's: said as such.
  check_no_earlier_error("poly_kernel", __FILE__, __LINE__);
  poly_kernel<<<static_cast<unsigned>(blocks), kPolyBlock, 0, stream>>>(in, out, count, degree, coefficient);
  PIPEBENCH_CUDA_CHECK(cudaGetLastError());
}

void launch_batched_matmul_nt(const float* ab, float* c, std::size_t batch, int n, cudaStream_t stream) {
  constexpr std::size_t kMaxGridZ = 65535;
  const unsigned tiles = static_cast<unsigned>((n + kTile - 1) / kTile);
  const std::size_t nn = static_cast<std::size_t>(n) * n;
  for (std::size_t first = 0; first < batch; first += kMaxGridZ) {
    const std::size_t items = std::min(kMaxGridZ, batch - first);
    const dim3 grid(tiles, tiles, static_cast<unsigned>(items));
    check_no_earlier_error("batched_matmul_nt_kernel", __FILE__, __LINE__);
    batched_matmul_nt_kernel<<<grid, dim3(kTile, kTile), 0, stream>>>(ab + first * 2 * nn, c + first * nn, n);
    PIPEBENCH_CUDA_CHECK(cudaGetLastError());
  }
}

void launch_stream_blocker(const volatile int* release, volatile int* timed_out, unsigned long long timeout_ns,
                           cudaStream_t stream) {
  check_no_earlier_error("stream_blocker_kernel", __FILE__, __LINE__);
  stream_blocker_kernel<<<1, 1, 0, stream>>>(release, timed_out, timeout_ns);
  PIPEBENCH_CUDA_CHECK(cudaGetLastError());
}

}  // namespace pipebench::cuda
