#include "brainsem/clip/resize.h"

#include <cmath>
#include <cstdint>

#include "brainsem/core/error.h"

namespace brainsem::clip {
namespace {

constexpr int kPillowPrecisionBits = 32 - 8 - 2;  // 22: room for 8-bit samples times weights up to ~4

double bicubic(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

inline uint8_t clip8(int32_t v, int bits) {
  if (v >= (1 << bits << 8)) return 255;
  if (v <= 0) return 0;
  return static_cast<uint8_t>(v >> bits);
}

inline uint8_t muldiv255(int a, int b) {
  int tmp = a * b + 128;
  return static_cast<uint8_t>(((tmp >> 8) + tmp) >> 8);
}

// Premultiplied <-> straight alpha as Pillow's RGBA<->RGBa conversions do it.
void premultiply(Image& im) {
  const int c = im.channels();
  for (size_t i = 0; i < im.pixels.size(); i += c) {
    const int a = im.pixels[i + c - 1];
    for (int k = 0; k < c - 1; ++k) im.pixels[i + k] = muldiv255(im.pixels[i + k], a);
  }
}
void unpremultiply(Image& im) {
  const int c = im.channels();
  for (size_t i = 0; i < im.pixels.size(); i += c) {
    const int a = im.pixels[i + c - 1];
    if (a == 0 || a == 255) continue;
    for (int k = 0; k < c - 1; ++k) {
      const int v = 255 * im.pixels[i + k] / a;
      im.pixels[i + k] = static_cast<uint8_t>(v > 255 ? 255 : v);
    }
  }
}

// One pass along x over rows [y0, y0+rows) of `in` (channels c) into `out` (width = out_w).
void pass_horizontal(const Image& in, int y0, int rows, const ResampleCoeffs& k, Image& out) {
  const int c = in.channels();
  const int out_w = out.width;
  for (int y = 0; y < rows; ++y) {
    const uint8_t* src = in.pixels.data() + static_cast<size_t>(y + y0) * in.width * c;
    uint8_t* dst = out.pixels.data() + static_cast<size_t>(y) * out_w * c;
    for (int x = 0; x < out_w; ++x) {
      const int xmin = k.bounds[2 * x], n = k.bounds[2 * x + 1];
      const int* w = k.weights.data() + static_cast<size_t>(x) * k.ksize;
      const uint8_t* s = src + static_cast<size_t>(xmin) * c;
      for (int ch = 0; ch < c; ++ch) {
        int32_t ss = 1 << (k.precision - 1);
        for (int i = 0; i < n; ++i) ss += s[i * c + ch] * w[i];
        dst[x * c + ch] = clip8(ss, k.precision);
      }
    }
  }
}

// One pass along y: out row y reads in rows bounds (relative to in's first row).
void pass_vertical(const Image& in, const ResampleCoeffs& k, int row_offset, Image& out) {
  const int c = in.channels();
  const size_t stride = static_cast<size_t>(in.width) * c;
  std::vector<int32_t> acc(stride);
  for (int y = 0; y < out.height; ++y) {
    const int ymin = k.bounds[2 * y] - row_offset, n = k.bounds[2 * y + 1];
    const int* w = k.weights.data() + static_cast<size_t>(y) * k.ksize;
    std::fill(acc.begin(), acc.end(), 1 << (k.precision - 1));
    for (int i = 0; i < n; ++i) {
      const uint8_t* s = in.pixels.data() + static_cast<size_t>(ymin + i) * stride;
      const int32_t wi = w[i];
      for (size_t j = 0; j < stride; ++j) acc[j] += s[j] * wi;  // row-wise: vectorises
    }
    uint8_t* dst = out.pixels.data() + static_cast<size_t>(y) * stride;
    for (size_t j = 0; j < stride; ++j) dst[j] = clip8(acc[j], k.precision);
  }
}

}  // namespace

ResampleCoeffs bicubic_coeffs(int in_size, int out_size, ResizeArithmetic arith) {
  BRAINSEM_CHECK(in_size > 0 && out_size > 0, "resize: sizes must be positive (", in_size, " -> ", out_size, ")");
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = 2.0 * filterscale;
  ResampleCoeffs r;
  r.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  r.bounds.resize(2 * static_cast<size_t>(out_size));
  r.weights.assign(static_cast<size_t>(out_size) * r.ksize, 0);
  std::vector<double> k(r.ksize);
  std::vector<double> all(static_cast<size_t>(out_size) * r.ksize, 0.0);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      k[x] = bicubic((x + xmin - center + 0.5) * ss);
      ww += k[x];
    }
    for (int x = 0; x < xmax; ++x) all[static_cast<size_t>(xx) * r.ksize + x] = ww != 0.0 ? k[x] / ww : k[x];
    r.bounds[2 * xx] = xmin;
    r.bounds[2 * xx + 1] = xmax;
  }
  if (arith == ResizeArithmetic::Pillow) {
    r.precision = kPillowPrecisionBits;
  } else {
    // torch's uint8 kernels fit the weights into int16: the most bits that keep 2*max < 2^15.
    double wmax = 0.0;
    for (double v : all) wmax = std::max(wmax, v);
    int bits = 0;
    for (bits = 0; bits < 22; ++bits)
      if (static_cast<int>(0.5 + wmax * (1 << (bits + 1))) >= (1 << 15)) break;
    r.precision = bits;
  }
  // Round half away from zero into fixed point.
  const double one = static_cast<double>(1 << r.precision);
  for (size_t i = 0; i < all.size(); ++i)
    r.weights[i] = all[i] < 0 ? static_cast<int>(-0.5 + all[i] * one) : static_cast<int>(0.5 + all[i] * one);
  return r;
}

Image resize_bicubic(const Image& src, int out_w, int out_h, ResizeArithmetic arith) {
  BRAINSEM_CHECK(src.mode != Mode::P, "resize_bicubic: palette images are resized with NEAREST (pillow_resize)");
  BRAINSEM_CHECK(src.width > 0 && src.height > 0 && out_w > 0 && out_h > 0, "resize: empty image or size (", src.width,
                 "x", src.height, " -> ", out_w, "x", out_h, ")");
  const bool alpha = src.mode == Mode::LA || src.mode == Mode::RGBA;
  Image premul;
  const Image* in = &src;
  if (alpha) {
    premul = src;
    premultiply(premul);
    in = &premul;
  }
  const bool need_h = out_w != in->width, need_v = out_h != in->height;
  const ResampleCoeffs kh = bicubic_coeffs(in->width, out_w, arith);
  const ResampleCoeffs kv = bicubic_coeffs(in->height, out_h, arith);
  Image tmp;
  const Image* cur = in;
  int row_offset = 0;
  if (need_h) {
    // Only the rows the vertical pass reads.
    const int first = need_v ? kv.bounds[0] : 0;
    const int last = need_v ? kv.bounds[2 * (out_h - 1)] + kv.bounds[2 * (out_h - 1) + 1] : in->height;
    tmp = Image::blank(out_w, last - first, in->mode);
    pass_horizontal(*in, first, last - first, kh, tmp);
    cur = &tmp;
    row_offset = first;
  }
  Image out;
  if (need_v) {
    out = Image::blank(cur->width, out_h, in->mode);
    pass_vertical(*cur, kv, row_offset, out);
  } else {
    out = need_h ? std::move(tmp) : *in;
  }
  if (alpha) unpremultiply(out);
  return out;
}

Image resize_nearest(const Image& im, int out_w, int out_h) {
  BRAINSEM_CHECK(im.width > 0 && im.height > 0 && out_w > 0 && out_h > 0, "resize: empty image or size");
  Image out = Image::blank(out_w, out_h, im.mode);
  out.palette = im.palette;
  out.palette_alpha = im.palette_alpha;
  const int c = im.channels();
  const double sx = static_cast<double>(im.width) / out_w, sy = static_cast<double>(im.height) / out_h;
  std::vector<int> xs(out_w);
  for (int x = 0; x < out_w; ++x) xs[x] = std::min(im.width - 1, static_cast<int>((x + 0.5) * sx));
  for (int y = 0; y < out_h; ++y) {
    const int yi = std::min(im.height - 1, static_cast<int>((y + 0.5) * sy));
    const uint8_t* s = im.pixels.data() + static_cast<size_t>(yi) * im.width * c;
    uint8_t* d = out.pixels.data() + static_cast<size_t>(y) * out_w * c;
    for (int x = 0; x < out_w; ++x)
      for (int ch = 0; ch < c; ++ch) d[x * c + ch] = s[xs[x] * c + ch];
  }
  return out;
}

Image pillow_resize(const Image& im, int out_w, int out_h, ResizeArithmetic arith) {
  if (out_w == im.width && out_h == im.height) return im;
  if (im.mode == Mode::P) return resize_nearest(im, out_w, out_h);
  return resize_bicubic(im, out_w, out_h, arith);
}

}  // namespace brainsem::clip
