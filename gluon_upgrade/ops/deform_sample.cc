/*
 * gu_deform_sample: the sampling half of a deformable convolution (DCN v1 and v2), as an MXNet extension
 * operator (mxnet/lib_api.h, loaded by mx.library.load).
 *
 * For a k_h x k_w layer it writes every sample the layer reads into a tap grid,
 *   out[n, c, i*k_h + a, j*k_w + b] = mask * bilinear(data[n, c], y, x),
 *   y = i*stride_h - pad_h + a*dilate_h + offset[n, 2*(g*K + t), i, j],
 *   x = j*stride_w - pad_w + b*dilate_w + offset[n, 2*(g*K + t) + 1, i, j],
 * with t = a*k_w + b, K = k_h*k_w and g the channel's deformable group, so that a convolution with kernel
 * (k_h, k_w), stride (k_h, k_w) and no padding over `out`, with the layer's own weight, is the deformable
 * convolution. That convolution runs in MXNet's oneDNN kernels; this file only samples.
 *
 * Border rules are MXNet 1.9.1's CPU operators' (deformable_im2col.h and modulated_deformable_im2col.h):
 *   v1 (no mask input): a sample counts only for 0 <= y < H and 0 <= x < W; past the last row or column
 *       centre the position is clamped to it;
 *   v2 (mask input):    a sample counts for -1 < y < H and -1 < x < W; corners outside the image read zero.
 * The backward is the exact derivative of this forward, which is what MXNet's CPU backward computes.
 *
 * Geometry (4 corner indices and the fractions per tap and output position) is computed once per image and
 * deformable group; the sampling then runs over blocks of channels of a channel-last copy of the input.
 */
#include <omp.h>
#include <xmmintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "mxnet/lib_api.h"

using namespace mxnet::ext;

namespace {

// MXNet's engine threads run with one OpenMP thread and MXNet's operators ask for their count explicitly; this
// operator asks for the same count (src/engine/openmp.cc): MXNET_OMP_MAX_THREADS, else OMP_NUM_THREADS, else half
// the processors on x86 (MXNet assumes two hardware threads per core), at least one.
int thread_count() {
  static const int count = [] {
    for (const char* name : {"MXNET_OMP_MAX_THREADS", "OMP_NUM_THREADS"}) {
      const char* text = std::getenv(name);
      if (text && std::atoi(text) > 0) return std::atoi(text);
    }
#if defined(__x86_64__) || defined(__i386__)
    return std::max(1, omp_get_num_procs() / 2);
#else
    return omp_get_num_procs();
#endif
  }();
  return count;
}

struct Geometry {
  int kh, kw, sh, sw, ph, pw, dh, dw, groups;
};

std::vector<int> parse_ints(const std::string& text) {
  std::vector<int> values;
  std::string digits;
  for (char ch : text + ",") {
    if ((ch >= '0' && ch <= '9') || (ch == '-' && digits.empty())) {
      digits += ch;
    } else if (!digits.empty()) {
      values.push_back(std::stoi(digits));
      digits.clear();
    }
  }
  return values;
}

bool pair_attr(const std::unordered_map<std::string, std::string>& attrs, const char* key, int fallback,
               int* first, int* second) {
  auto found = attrs.find(key);
  if (found == attrs.end()) {
    *first = *second = fallback;
    return true;
  }
  std::vector<int> values = parse_ints(found->second);
  if (values.size() == 1) values.push_back(values[0]);
  if (values.size() != 2) {
    MX_ERROR_MSG << "gu_deform_sample: " << key << " must be one or two integers, got " << found->second;
    return false;
  }
  *first = values[0];
  *second = values[1];
  return true;
}

bool read_geometry(const std::unordered_map<std::string, std::string>& attrs, Geometry* geo) {
  if (!pair_attr(attrs, "kernel", 3, &geo->kh, &geo->kw) || !pair_attr(attrs, "stride", 1, &geo->sh, &geo->sw) ||
      !pair_attr(attrs, "pad", 0, &geo->ph, &geo->pw) || !pair_attr(attrs, "dilate", 1, &geo->dh, &geo->dw)) {
    return false;
  }
  auto found = attrs.find("num_deformable_group");
  geo->groups = found == attrs.end() ? 1 : std::stoi(found->second);
  if (geo->kh < 1 || geo->kw < 1 || geo->sh < 1 || geo->sw < 1 || geo->dh < 1 || geo->dw < 1 || geo->groups < 1) {
    MX_ERROR_MSG << "gu_deform_sample: kernel, stride, dilate and num_deformable_group must be positive";
    return false;
  }
  return true;
}

bool is_modulated(const std::unordered_map<std::string, std::string>& attrs) {
  auto found = attrs.find("modulated");
  return found != attrs.end() && (found->second == "1" || found->second == "True" || found->second == "true");
}

struct Shapes {
  int64_t n, c, h, w, out_h, out_w, grid;
  int64_t plane() const { return h * w; }
};

Shapes shapes_of(const MXTensor& data, const MXTensor& offset, const Geometry& geo) {
  Shapes s;
  s.n = data.shape[0];
  s.c = data.shape[1];
  s.h = data.shape[2];
  s.w = data.shape[3];
  s.out_h = offset.shape[2];
  s.out_w = offset.shape[3];
  s.grid = s.out_h * s.out_w * geo.kh * geo.kw;
  return s;
}

// Where tap-grid element e of every (image, deformable group) samples: the pixel indices of its 4 corners and the
// fractional parts (ly, lx) of the position, plus v2's mask. A corner outside the image points at pixel h*w, a
// zero row of the channel-last input (below), so the bilinear weights need no validity test. Under v1's clamp the
// two corners along that axis coincide and the fraction is 0, so the derivative along it, (v_high - v_low),
// vanishes as MXNet's does.
template <typename T>
struct Samples {
  std::vector<int32_t> index[4];
  std::vector<T> ly, lx, mask;
  explicit Samples(size_t size) : ly(size, 0), lx(size, 0), mask(size, 1) {
    for (int k = 0; k < 4; ++k) index[k].assign(size, 0);
  }
};

template <typename T>
Samples<T> locate(const T* offset, const T* mask, const Geometry& geo, const Shapes& s) {
  const bool modulated = mask != nullptr;
  const int64_t taps = geo.kh * geo.kw, plane = s.out_h * s.out_w, grid_w = s.out_w * geo.kw;
  const int64_t height = s.h, width = s.w;
  const int32_t zero = static_cast<int32_t>(s.plane());
  Samples<T> at(static_cast<size_t>(s.n * geo.groups * s.grid));
#pragma omp parallel for collapse(2) num_threads(thread_count())
  for (int64_t ng = 0; ng < s.n * geo.groups; ++ng) {
    for (int64_t t = 0; t < taps; ++t) {
      const int64_t a = t / geo.kw, b = t % geo.kw;
      const T* off_y = offset + (ng * 2 * taps + 2 * t) * plane;
      const T* off_x = off_y + plane;
      const T* m = modulated ? mask + (ng * taps + t) * plane : nullptr;
      for (int64_t i = 0; i < s.out_h; ++i) {
        for (int64_t j = 0; j < s.out_w; ++j) {
          const int64_t p = i * s.out_w + j, e = ng * s.grid + (i * geo.kh + a) * grid_w + j * geo.kw + b;
          if (modulated) at.mask[e] = m[p];
          const T y = static_cast<T>(i * geo.sh - geo.ph + a * geo.dh) + off_y[p];
          const T x = static_cast<T>(j * geo.sw - geo.pw + b * geo.dw) + off_x[p];
          const bool inside = modulated ? (y > -1 && x > -1 && y < height && x < width)
                                        : (y >= 0 && x >= 0 && y < height && x < width);
          for (int k = 0; k < 4; ++k) at.index[k][e] = zero;
          if (!inside) continue;
          int64_t y0 = static_cast<int64_t>(std::floor(y)), x0 = static_cast<int64_t>(std::floor(x));
          int64_t y1 = y0 + 1, x1 = x0 + 1;
          at.ly[e] = y - y0;
          at.lx[e] = x - x0;
          if (!modulated && y0 >= height - 1) {
            y0 = y1 = height - 1;
            at.ly[e] = 0;
          }
          if (!modulated && x0 >= width - 1) {
            x0 = x1 = width - 1;
            at.lx[e] = 0;
          }
          const int64_t rows[4] = {y0, y0, y1, y1}, cols[4] = {x0, x1, x0, x1};
          for (int k = 0; k < 4; ++k) {
            if (rows[k] >= 0 && rows[k] < height && cols[k] >= 0 && cols[k] < width) {
              at.index[k][e] = static_cast<int32_t>(rows[k] * width + cols[k]);
            }
          }
        }
      }
    }
  }
  return at;
}

// The kernels work channel-last: a group's input is transposed to (pixel, channel), with one zero row at pixel
// h*w where outside corners point, so that each sample reads 4 contiguous runs of channels and every arithmetic
// loop runs over channels, vectorised without gathers. Samples are taken for blocks of kBlock elements and kBlock
// channels at a time and transposed through a small tile on the way out (forward) or in (the head gradient).
constexpr int64_t kBlock = 16;

// dst[j * dst_stride + i] = src[i * src_stride + j] for i < rows, j < cols (at most kBlock each). Full blocks take
// 4x4 SSE transposes: the compiler's own code for this gathers and is the sampling's slowest part.
template <typename T>
inline void transpose_block(const T* src, int64_t src_stride, T* dst, int64_t dst_stride, int64_t rows,
                            int64_t cols) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) dst[j * dst_stride + i] = src[i * src_stride + j];
}

template <>
inline void transpose_block<float>(const float* src, int64_t src_stride, float* dst, int64_t dst_stride,
                                   int64_t rows, int64_t cols) {
  if (rows != kBlock || cols != kBlock) {
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) dst[j * dst_stride + i] = src[i * src_stride + j];
    return;
  }
  for (int64_t i = 0; i < kBlock; i += 4) {
    for (int64_t j = 0; j < kBlock; j += 4) {
      __m128 r0 = _mm_loadu_ps(src + (i + 0) * src_stride + j), r1 = _mm_loadu_ps(src + (i + 1) * src_stride + j);
      __m128 r2 = _mm_loadu_ps(src + (i + 2) * src_stride + j), r3 = _mm_loadu_ps(src + (i + 3) * src_stride + j);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      _mm_storeu_ps(dst + (j + 0) * dst_stride + i, r0);
      _mm_storeu_ps(dst + (j + 1) * dst_stride + i, r1);
      _mm_storeu_ps(dst + (j + 2) * dst_stride + i, r2);
      _mm_storeu_ps(dst + (j + 3) * dst_stride + i, r3);
    }
  }
}

template <typename T>
std::vector<T> channels_last(const T* data, const Shapes& s, const Geometry& geo) {
  const int64_t per_group = s.c / geo.groups, rows = s.plane() + 1;
  std::vector<T> out(static_cast<size_t>(s.n * geo.groups * rows * per_group), T(0));
  const int64_t blocks = (per_group + kBlock - 1) / kBlock;
#pragma omp parallel for num_threads(thread_count())
  for (int64_t job = 0; job < s.n * geo.groups * blocks; ++job) {
    const int64_t ng = job / blocks, c0 = (job % blocks) * kBlock, width = std::min(kBlock, per_group - c0);
    const T* planes = data + (ng * per_group + c0) * s.plane();
    T* target = out.data() + ng * rows * per_group + c0;
    for (int64_t q0 = 0; q0 < s.plane(); q0 += kBlock) {
      transpose_block(planes + q0, s.plane(), target + q0 * per_group, per_group, width,
                      std::min(kBlock, s.plane() - q0));
    }
  }
  return out;
}

// A unit of work: one image and deformable group, and a block of at most kBlock of its channels.
struct Job {
  int64_t ng, c0, width;
};

std::vector<Job> jobs_of(const Shapes& s, const Geometry& geo) {
  const int64_t per_group = s.c / geo.groups;
  std::vector<Job> jobs;
  for (int64_t ng = 0; ng < s.n * geo.groups; ++ng)
    for (int64_t c0 = 0; c0 < per_group; c0 += kBlock) jobs.push_back({ng, c0, std::min(kBlock, per_group - c0)});
  return jobs;
}

template <typename T>
void forward_typed(const Geometry& geo, std::vector<MXTensor>* inputs, MXTensor* output) {
  const bool modulated = inputs->size() == 3;
  const Shapes s = shapes_of(inputs->at(0), inputs->at(1), geo);
  T* out = output->data<T>();
  const Samples<T> at = locate<T>(inputs->at(1).data<T>(), modulated ? inputs->at(2).data<T>() : nullptr, geo, s);
  const std::vector<T> xt = channels_last(inputs->at(0).data<T>(), s, geo);
  const std::vector<Job> jobs = jobs_of(s, geo);
  const int64_t per_group = s.c / geo.groups, rows = s.plane() + 1;
#pragma omp parallel for num_threads(thread_count()) schedule(dynamic)
  for (size_t j = 0; j < jobs.size(); ++j) {
    const Job job = jobs[j];
    const int64_t base = job.ng * s.grid, width = job.width;
    const T* x = xt.data() + job.ng * rows * per_group + job.c0;
    // The first output channel of the block: image ng / groups, channel (ng % groups) * per_group + c0.
    T* o = out + ((job.ng / geo.groups) * s.c + (job.ng % geo.groups) * per_group + job.c0) * s.grid;
    T tile[kBlock * kBlock];
    for (int64_t e0 = 0; e0 < s.grid; e0 += kBlock) {
      const int64_t count = std::min(kBlock, s.grid - e0);
      for (int64_t k = 0; k < count; ++k) {
        const int64_t e = base + e0 + k;
        const T ly = at.ly[e], lx = at.lx[e], m = at.mask[e];
        const T w0 = m * (1 - ly) * (1 - lx), w1 = m * (1 - ly) * lx, w2 = m * ly * (1 - lx), w3 = m * ly * lx;
        const T *p0 = x + at.index[0][e] * per_group, *p1 = x + at.index[1][e] * per_group,
                *p2 = x + at.index[2][e] * per_group, *p3 = x + at.index[3][e] * per_group;
        T* row = tile + k * kBlock;
#pragma omp simd
        for (int64_t c = 0; c < width; ++c) row[c] = w0 * p0[c] + w1 * p1[c] + w2 * p2[c] + w3 * p3[c];
      }
      transpose_block(tile, kBlock, o + e0, s.grid, count, width);
    }
  }
}

template <typename T>
void backward_typed(const Geometry& geo, std::vector<MXTensor>* inputs, std::vector<MXTensor>* outputs) {
  // inputs: head gradient, data, offset[, mask], forward output; outputs: d data, d offset[, d mask]
  const bool modulated = outputs->size() == 3;
  const Shapes s = shapes_of(inputs->at(1), inputs->at(2), geo);
  const T* head = inputs->at(0).data<T>();
  const Samples<T> at = locate<T>(inputs->at(2).data<T>(), modulated ? inputs->at(3).data<T>() : nullptr, geo, s);
  const std::vector<T> xt = channels_last(inputs->at(1).data<T>(), s, geo);
  const std::vector<Job> jobs = jobs_of(s, geo);
  T* d_data = outputs->at(0).data<T>();
  const int64_t per_group = s.c / geo.groups, rows = s.plane() + 1;
  const int64_t taps = geo.kh * geo.kw, plane = s.out_h * s.out_w;
  const int64_t grid_w = s.out_w * geo.kw, span = s.n * geo.groups * s.grid;
  const int threads = thread_count();
  // Per thread, sums over channels of the head times d(sample)/dy, d(sample)/dx and the unmasked sample.
  std::vector<T> sums(static_cast<size_t>(threads) * 3 * span, T(0));
#pragma omp parallel num_threads(threads)
  {
    T* sum_y = sums.data() + static_cast<size_t>(omp_get_thread_num()) * 3 * span;
    T* sum_x = sum_y + span;
    T* sum_v = sum_x + span;
    std::vector<T> grad(static_cast<size_t>(rows * kBlock));  // the block's data gradient, channel-last
    T tile[kBlock * kBlock];
#pragma omp for schedule(dynamic)
    for (size_t j = 0; j < jobs.size(); ++j) {
      const Job job = jobs[j];
      const int64_t base = job.ng * s.grid, width = job.width;
      const T* x = xt.data() + job.ng * rows * per_group + job.c0;
      const int64_t first = ((job.ng / geo.groups) * s.c + (job.ng % geo.groups) * per_group + job.c0);
      const T* h = head + first * s.grid;
      std::fill(grad.begin(), grad.end(), T(0));
      for (int64_t e0 = 0; e0 < s.grid; e0 += kBlock) {
        const int64_t count = std::min(kBlock, s.grid - e0);
        transpose_block(h + e0, s.grid, tile, kBlock, width, count);
        for (int64_t k = 0; k < count; ++k) {
          const int64_t e = base + e0 + k;
          const T ly = at.ly[e], lx = at.lx[e], m = at.mask[e];
          const int64_t q0 = at.index[0][e], q1 = at.index[1][e], q2 = at.index[2][e], q3 = at.index[3][e];
          const T *p0 = x + q0 * per_group, *p1 = x + q1 * per_group, *p2 = x + q2 * per_group,
                  *p3 = x + q3 * per_group;
          const T* hv = tile + k * kBlock;
          T gy = 0, gx = 0, gv = 0;
#pragma omp simd reduction(+ : gy, gx, gv)
          for (int64_t c = 0; c < width; ++c) {
            const T top = p0[c] + lx * (p1[c] - p0[c]), bottom = p2[c] + lx * (p3[c] - p2[c]);
            gy += hv[c] * (bottom - top);
            gx += hv[c] * ((p1[c] - p0[c]) + ly * ((p3[c] - p2[c]) - (p1[c] - p0[c])));
            gv += hv[c] * (top + ly * (bottom - top));
          }
          sum_y[e] += gy;
          sum_x[e] += gx;
          sum_v[e] += gv;
          const T a0 = m * (1 - ly) * (1 - lx), a1 = m * (1 - ly) * lx, a2 = m * ly * (1 - lx), a3 = m * ly * lx;
          T *g0 = grad.data() + q0 * kBlock, *g1 = grad.data() + q1 * kBlock, *g2 = grad.data() + q2 * kBlock,
            *g3 = grad.data() + q3 * kBlock;
          // One corner at a time: corners may coincide (v1's clamp, the zero row).
#pragma omp simd
          for (int64_t c = 0; c < width; ++c) g0[c] += a0 * hv[c];
#pragma omp simd
          for (int64_t c = 0; c < width; ++c) g1[c] += a1 * hv[c];
#pragma omp simd
          for (int64_t c = 0; c < width; ++c) g2[c] += a2 * hv[c];
#pragma omp simd
          for (int64_t c = 0; c < width; ++c) g3[c] += a3 * hv[c];
        }
      }
      T* dx = d_data + first * s.plane();
      for (int64_t q0 = 0; q0 < s.plane(); q0 += kBlock)
        transpose_block(grad.data() + q0 * kBlock, kBlock, dx + q0, s.plane(), std::min(kBlock, s.plane() - q0),
                        width);
    }
  }
  T* d_offset = outputs->at(1).data<T>();
  T* d_mask = modulated ? outputs->at(2).data<T>() : nullptr;
#pragma omp parallel for collapse(2) num_threads(threads)
  for (int64_t ng = 0; ng < s.n * geo.groups; ++ng) {
    for (int64_t t = 0; t < taps; ++t) {
      const int64_t a = t / geo.kw, b = t % geo.kw;
      for (int64_t i = 0; i < s.out_h; ++i) {
        for (int64_t j = 0; j < s.out_w; ++j) {
          const int64_t e = ng * s.grid + (i * geo.kh + a) * grid_w + j * geo.kw + b, p = i * s.out_w + j;
          T gy = 0, gx = 0, gv = 0;
          for (int th = 0; th < threads; ++th) {
            const T* sum = sums.data() + static_cast<size_t>(th) * 3 * span;
            gy += sum[e];
            gx += sum[span + e];
            gv += sum[2 * span + e];
          }
          d_offset[(ng * 2 * taps + 2 * t) * plane + p] = gy * at.mask[e];
          d_offset[(ng * 2 * taps + 2 * t + 1) * plane + p] = gx * at.mask[e];
          if (modulated) d_mask[(ng * taps + t) * plane + p] = gv;
        }
      }
    }
  }
}

MXReturnValue forward(const std::unordered_map<std::string, std::string>& attrs, std::vector<MXTensor>* inputs,
                      std::vector<MXTensor>* outputs, const OpResource& res) {
  Geometry geo;
  if (!read_geometry(attrs, &geo)) return MX_FAIL;
  if (inputs->at(0).dtype == kFloat32) {
    forward_typed<float>(geo, inputs, &outputs->at(0));
  } else {
    forward_typed<double>(geo, inputs, &outputs->at(0));
  }
  return MX_SUCCESS;
}

MXReturnValue backward(const std::unordered_map<std::string, std::string>& attrs, std::vector<MXTensor>* inputs,
                       std::vector<MXTensor>* outputs, const OpResource& res) {
  Geometry geo;
  if (!read_geometry(attrs, &geo)) return MX_FAIL;
  if (inputs->at(0).dtype == kFloat32) {
    backward_typed<float>(geo, inputs, outputs);
  } else {
    backward_typed<double>(geo, inputs, outputs);
  }
  return MX_SUCCESS;
}

MXReturnValue parse_attrs(const std::unordered_map<std::string, std::string>& attrs, int* num_in, int* num_out) {
  *num_in = is_modulated(attrs) ? 3 : 2;
  *num_out = 1;
  return MX_SUCCESS;
}

MXReturnValue infer_type(const std::unordered_map<std::string, std::string>& attrs, std::vector<int>* in_types,
                         std::vector<int>* out_types) {
  const int dtype = in_types->at(0);
  if (dtype != kFloat32 && dtype != kFloat64) {
    MX_ERROR_MSG << "gu_deform_sample: data must be float32 or float64";
    return MX_FAIL;
  }
  for (size_t i = 1; i < in_types->size(); ++i) {
    if (in_types->at(i) != dtype) {
      MX_ERROR_MSG << "gu_deform_sample: input " << i << " has another dtype than the data";
      return MX_FAIL;
    }
  }
  out_types->at(0) = dtype;
  return MX_SUCCESS;
}

MXReturnValue infer_shape(const std::unordered_map<std::string, std::string>& attrs,
                          std::vector<std::vector<unsigned int>>* in_shapes,
                          std::vector<std::vector<unsigned int>>* out_shapes) {
  Geometry geo;
  if (!read_geometry(attrs, &geo)) return MX_FAIL;
  const std::vector<unsigned int>& data = in_shapes->at(0);
  if (data.size() != 4) {
    MX_ERROR_MSG << "gu_deform_sample: data must be (N, C, H, W)";
    return MX_FAIL;
  }
  if (data[1] % geo.groups) {
    MX_ERROR_MSG << "gu_deform_sample: " << data[1] << " channels do not split into " << geo.groups << " groups";
    return MX_FAIL;
  }
  const int64_t out_h = (static_cast<int64_t>(data[2]) + 2 * geo.ph - geo.dh * (geo.kh - 1) - 1) / geo.sh + 1;
  const int64_t out_w = (static_cast<int64_t>(data[3]) + 2 * geo.pw - geo.dw * (geo.kw - 1) - 1) / geo.sw + 1;
  const unsigned int taps = geo.kh * geo.kw;
  const std::vector<unsigned int> offset = {data[0], 2 * taps * geo.groups, static_cast<unsigned int>(out_h),
                                            static_cast<unsigned int>(out_w)};
  if (in_shapes->at(1) != offset) {
    MX_ERROR_MSG << "gu_deform_sample: offset must be (N, 2*kh*kw*groups, out_h, out_w)";
    return MX_FAIL;
  }
  if (in_shapes->size() == 3) {
    const std::vector<unsigned int> mask = {data[0], taps * geo.groups, offset[2], offset[3]};
    if (in_shapes->at(2) != mask) {
      MX_ERROR_MSG << "gu_deform_sample: mask must be (N, kh*kw*groups, out_h, out_w)";
      return MX_FAIL;
    }
  }
  out_shapes->at(0) = {data[0], data[1], static_cast<unsigned int>(out_h * geo.kh),
                       static_cast<unsigned int>(out_w * geo.kw)};
  return MX_SUCCESS;
}

}  // namespace

REGISTER_OP(gu_deform_sample)
    .setForward(forward, "cpu")
    .setBackward(backward, "cpu")
    .setParseAttrs(parse_attrs)
    .setInferType(infer_type)
    .setInferShape(infer_shape);

MXReturnValue initialize(int version) { return version >= 10900 ? MX_SUCCESS : MX_FAIL; }
