#pragma once
// Pillow's image resize, reimplemented to give identical 8-bit results (the CLIP references
// resize with PIL.Image.resize(..., BICUBIC)). Written from the algorithm as Pillow documents
// and implements it in libImaging/Resample.c (no code copied):
//  * separable, horizontal pass first (only over the rows the vertical pass reads), then vertical;
//  * bicubic kernel a = -0.5, support 2, widened by the downscale factor (antialiasing);
//  * per output pixel the weights are normalised in double, then rounded to 22-bit fixed point;
//  * each pass accumulates from 1<<21, shifts right by 22 and clamps to 0..255 (uint8 between passes);
//  * a pass whose size does not change is skipped.
#include <vector>

#include "brainsem/clip/image.h"

namespace brainsem::clip {

// The integer arithmetic of the two uint8 bicubic implementations the references use. Both
// compute the same double weights; they differ in how many fixed-point bits the weights keep:
//   Pillow:     22 bits (Resample.c, PRECISION_BITS);
//   TorchUint8: as many bits as keep every weight in int16 (torch's antialiased uint8 upsample,
//               used by torchvision and by transformers' CLIPImageProcessor in 5.x); this
//               rounds differently by one level on ~0.3% of pixels.
enum class ResizeArithmetic { Pillow, TorchUint8 };

// Bicubic resize of any 8-bit mode except P. LA and RGBA are resized premultiplied and converted
// back, as Image.resize does. Throws for P (use resize_nearest, as Pillow forces for P).
Image resize_bicubic(const Image& im, int out_width, int out_height, ResizeArithmetic arith = ResizeArithmetic::Pillow);
// Pillow's NEAREST resize (source pixel floor((x+0.5)*in/out)); any mode, keeps the palette.
Image resize_nearest(const Image& im, int out_width, int out_height);
// Image.resize(size, BICUBIC) as Pillow runs it: P images get NEAREST, an unchanged size a copy.
Image pillow_resize(const Image& im, int out_width, int out_height, ResizeArithmetic arith = ResizeArithmetic::Pillow);

// The fixed-point coefficients for one axis (exposed for tests): for each output index o,
// bounds[2o] = first input index, bounds[2o+1] = count, weights[o*ksize + i] (sum ~ 1<<precision).
struct ResampleCoeffs {
  int ksize = 0;
  int precision = 22;
  std::vector<int> bounds;
  std::vector<int> weights;
};
ResampleCoeffs bicubic_coeffs(int in_size, int out_size, ResizeArithmetic arith = ResizeArithmetic::Pillow);

}  // namespace brainsem::clip
