#pragma once
// Decoded 8-bit images in Pillow's modes, so that preprocessing can follow Pillow step by step
// (the reference pipelines resize some modes before converting to RGB, docs/clip.md).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace brainsem::clip {

// Pillow's image modes that matter for CLIP preprocessing.
enum class Mode { L, LA, RGB, RGBA, P, CMYK };
int mode_channels(Mode m);  // bytes per pixel: L/P 1, LA 2, RGB 3, RGBA/CMYK 4
const char* mode_name(Mode m);

// Interleaved 8-bit pixels, row-major: pixels[(y*width + x)*channels + c].
struct Image {
  int width = 0, height = 0;
  Mode mode = Mode::RGB;
  std::vector<uint8_t> pixels;
  std::vector<uint8_t> palette;        // P only: RGB triples (up to 256)
  std::vector<uint8_t> palette_alpha;  // P only: tRNS alpha per palette entry (may be shorter)

  int channels() const { return mode_channels(mode); }
  static Image blank(int width, int height, Mode mode);
};

// Decodes a JPEG (libjpeg-turbo: grayscale -> L, YCbCr -> RGB, CMYK/YCCK -> CMYK, Adobe
// inverted CMYK handled as Pillow does) or a PNG (libpng: gray -> L, gray+alpha -> LA, RGB,
// RGBA, palette -> P with its palette and tRNS; 16-bit samples keep their high byte, as Pillow
// does for 16-bit RGB; low bit depths are expanded). The format is sniffed from the bytes, not
// the file name. Throws brainsem::Error naming `where` for unreadable, truncated or corrupt data,
// and for an image of more than `max_pixels` pixels (0 = no limit), refused from its header before
// any pixel is allocated: a small file can claim a huge frame (a decompression bomb).
// Pillow's Image.MAX_IMAGE_PIXELS (about 9459 x 9459): its warning threshold, our refusal.
//
// jpeg_min_side > 0 asks for a JPEG decoded at a reduced size: libjpeg's DCT scaling by the
// smallest M/8 (M = 1..8) that keeps the shorter side at least jpeg_min_side pixels. The IDCT,
// the chroma upsampling and the colour conversion then run on M^2/64 of the pixels. Where M is 4, 2
// or 1 this is exactly Pillow's Image.draft(mode, (s, s)). At other M it equals no Pillow call.
// Either way it is not Pillow's full-size decode; docs/clip.md gives the measured difference.
// PNGs ignore it.
inline constexpr int64_t kDefaultMaxPixels = 89'478'485;
Image decode_image(const std::vector<uint8_t>& bytes, const std::string& where, int64_t max_pixels = kDefaultMaxPixels,
                   int jpeg_min_side = 0);
Image read_image(const std::filesystem::path& path, int64_t max_pixels = kDefaultMaxPixels, int jpeg_min_side = 0);
// The M of that scaling for a width x height JPEG: 8 (full size) when jpeg_min_side <= 0 or when
// no smaller M reaches it.
int jpeg_scale_eighths(int width, int height, int jpeg_min_side);

// Pillow's Image.convert("RGB"): L replicated; LA/RGBA drop alpha; P via the palette (alpha
// ignored); CMYK via Pillow's cmyk2rgb (r = 255-k - round(c*(255-k)/255)).
Image to_rgb(const Image& im);
// transformers' convert_to_rgb: images with alpha (LA, RGBA, P with tRNS) are composited over
// opaque white with Pillow's alpha_composite integer arithmetic, everything else as to_rgb.
Image to_rgb_on_white(const Image& im);

}  // namespace brainsem::clip
