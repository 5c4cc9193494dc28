#include "brainsem/clip/image.h"

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "brainsem/core/error.h"

namespace brainsem::clip {

int mode_channels(Mode m) {
  switch (m) {
    case Mode::L:
    case Mode::P:
      return 1;
    case Mode::LA:
      return 2;
    case Mode::RGB:
      return 3;
    case Mode::RGBA:
    case Mode::CMYK:
      return 4;
  }
  return 0;
}

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::L:
      return "L";
    case Mode::LA:
      return "LA";
    case Mode::RGB:
      return "RGB";
    case Mode::RGBA:
      return "RGBA";
    case Mode::P:
      return "P";
    case Mode::CMYK:
      return "CMYK";
  }
  return "?";
}

Image Image::blank(int width, int height, Mode mode) {
  Image im;
  im.width = width;
  im.height = height;
  im.mode = mode;
  im.pixels.assign(static_cast<size_t>(width) * height * mode_channels(mode), 0);
  return im;
}

namespace {

// ---- JPEG (libjpeg-turbo) -------------------------------------------------------------------
struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = {0};
  bool truncated = false;
};

void jpeg_error_exit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void jpeg_emit_message(j_common_ptr cinfo, int level) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  // Pillow refuses truncated files ("image file is truncated"); libjpeg would pad them with grey
  // and only warn, so the premature-end warning is an error here. Other warnings are ignored.
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
    err->truncated = true;
    (*cinfo->err->format_message)(cinfo, err->message);
  }
}

// Refuses a frame of more than `max_pixels` pixels (0 = no limit) before its pixels are allocated.
void check_pixel_limit(uint64_t width, uint64_t height, int64_t max_pixels, const std::string& where) {
  if (max_pixels <= 0 || width * height <= static_cast<uint64_t>(max_pixels)) return;
  fail(where, ": ", width, "x", height, " = ", width * height, " pixels is more than the limit of ", max_pixels,
       " (a decompression bomb, or a genuinely huge image: raise the limit with --max-pixels, 0 = none)");
}

Image decode_jpeg(const std::vector<uint8_t>& bytes, const std::string& where, int64_t max_pixels, int min_side) {
  jpeg_decompress_struct cinfo;
  JpegError err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_error_exit;
  err.mgr.emit_message = jpeg_emit_message;
  Image im;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    fail(where, ": corrupt JPEG (", err.message, "); re-encode or remove the file");
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  try {
    check_pixel_limit(cinfo.image_width, cinfo.image_height, max_pixels, where);
  } catch (...) {
    jpeg_destroy_decompress(&cinfo);
    throw;
  }
  // Pillow's defaults: islow DCT, fancy upsampling; libjpeg converts YCbCr->RGB and YCCK->CMYK.
  bool cmyk = false;
  switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
      cinfo.out_color_space = JCS_GRAYSCALE;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      cinfo.out_color_space = JCS_CMYK;
      cmyk = true;
      break;
    default:
      cinfo.out_color_space = JCS_RGB;
      break;
  }
  cinfo.dct_method = JDCT_ISLOW;
  cinfo.do_fancy_upsampling = TRUE;
  cinfo.scale_num = static_cast<unsigned>(
      jpeg_scale_eighths(static_cast<int>(cinfo.image_width), static_cast<int>(cinfo.image_height), min_side));
  cinfo.scale_denom = 8;
  jpeg_start_decompress(&cinfo);
  const Mode mode = cmyk ? Mode::CMYK : (cinfo.output_components == 1 ? Mode::L : Mode::RGB);
  BRAINSEM_CHECK(static_cast<int>(cinfo.output_components) == mode_channels(mode), where,
                 ": unexpected JPEG component count ", cinfo.output_components);
  im = Image::blank(static_cast<int>(cinfo.output_width), static_cast<int>(cinfo.output_height), mode);
  const size_t stride = static_cast<size_t>(im.width) * im.channels();
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = im.pixels.data() + stride * cinfo.output_scanline;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (err.truncated) fail(where, ": truncated JPEG (", err.message, "); the file is incomplete");
  // Pillow reads CMYK JPEGs as "CMYK;I": Adobe applications store the channels inverted.
  if (cmyk)
    for (auto& v : im.pixels) v = static_cast<uint8_t>(255 - v);
  return im;
}

// ---- PNG (libpng) ---------------------------------------------------------------------------
struct PngReader {
  const std::vector<uint8_t>* bytes = nullptr;
  size_t pos = 0;
  std::string message;
};

void png_read_mem(png_structp png, png_bytep out, png_size_t n) {
  auto* r = static_cast<PngReader*>(png_get_io_ptr(png));
  if (r->pos + n > r->bytes->size()) png_error(png, "truncated PNG data");
  std::memcpy(out, r->bytes->data() + r->pos, n);
  r->pos += n;
}

void png_on_error(png_structp png, png_const_charp msg) {
  auto* r = static_cast<PngReader*>(png_get_error_ptr(png));
  r->message = msg;
  png_longjmp(png, 1);
}
void png_on_warning(png_structp, png_const_charp) {}

Image decode_png(const std::vector<uint8_t>& bytes, const std::string& where, int64_t max_pixels) {
  PngReader reader;
  reader.bytes = &bytes;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, png_on_error, png_on_warning);
  BRAINSEM_CHECK(png, where, ": libpng could not start");
  png_infop info = png_create_info_struct(png);
  Image im;
  std::vector<png_bytep> rows;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    fail(where, ": corrupt PNG (", reader.message, "); re-encode or remove the file");
  }
  png_set_read_fn(png, &reader, png_read_mem);
  png_read_info(png, info);
  try {
    check_pixel_limit(png_get_image_width(png, info), png_get_image_height(png, info), max_pixels, where);
  } catch (...) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw;
  }
  const int color = png_get_color_type(png, info);
  const int depth = png_get_bit_depth(png, info);
  Mode mode = Mode::RGB;
  switch (color) {
    case PNG_COLOR_TYPE_GRAY:
      mode = Mode::L;
      break;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
      mode = Mode::LA;
      break;
    case PNG_COLOR_TYPE_RGB:
      mode = Mode::RGB;
      break;
    case PNG_COLOR_TYPE_RGB_ALPHA:
      mode = Mode::RGBA;
      break;
    case PNG_COLOR_TYPE_PALETTE:
      mode = Mode::P;
      break;
    default:
      png_error(png, "unknown PNG colour type");
  }
  if (depth == 16) png_set_strip_16(png);  // keeps the high byte (Pillow's "RGB;16B" rawmodes)
  if (mode == Mode::P) {
    png_set_packing(png);  // 1/2/4-bit indices -> one byte each
    png_colorp pal = nullptr;
    int n = 0;
    if (png_get_PLTE(png, info, &pal, &n)) {
      for (int i = 0; i < n; ++i) {
        im.palette.push_back(pal[i].red);
        im.palette.push_back(pal[i].green);
        im.palette.push_back(pal[i].blue);
      }
    }
    png_bytep trans = nullptr;
    int ntrans = 0;
    if (png_get_tRNS(png, info, &trans, &ntrans, nullptr) && trans) im.palette_alpha.assign(trans, trans + ntrans);
  } else if (depth < 8) {
    png_set_expand_gray_1_2_4_to_8(png);  // scales to 0..255 like Pillow's L;1/L;2/L;4
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  const int w = static_cast<int>(png_get_image_width(png, info));
  const int h = static_cast<int>(png_get_image_height(png, info));
  BRAINSEM_CHECK(static_cast<int>(png_get_rowbytes(png, info)) == w * mode_channels(mode), where,
                 ": unexpected PNG row size");
  auto palette = std::move(im.palette);
  auto palette_alpha = std::move(im.palette_alpha);
  im = Image::blank(w, h, mode);
  im.palette = std::move(palette);
  im.palette_alpha = std::move(palette_alpha);
  rows.resize(h);
  for (int y = 0; y < h; ++y) rows[y] = im.pixels.data() + static_cast<size_t>(y) * w * im.channels();
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  if (mode == Mode::P) {
    const size_t n = im.palette.size() / 3;
    for (uint8_t v : im.pixels)
      BRAINSEM_CHECK(v < n, where, ": palette index ", int(v), " outside the ", n,
                     "-entry palette; the PNG is corrupt");
  }
  return im;
}

inline uint8_t muldiv255(int a, int b) {
  int tmp = a * b + 128;
  return static_cast<uint8_t>(((tmp >> 8) + tmp) >> 8);
}
inline uint8_t clip8(int v) { return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v); }

// Pillow AlphaComposite.c over an opaque white background (PRECISION_BITS 7).
inline uint8_t over_white(int c, int a) {
  if (a == 0) return 255;
  const uint32_t coef1 = static_cast<uint32_t>(a) * 128u;  // a*255*255*128 / (255*255)
  const uint32_t coef2 = 255u * 128u - coef1;
  uint32_t t = static_cast<uint32_t>(c) * coef1 + 255u * coef2 + (0x80u << 7);
  t = ((t >> 8) + t) >> 8;
  return static_cast<uint8_t>(t >> 7);
}

}  // namespace

int jpeg_scale_eighths(int width, int height, int jpeg_min_side) {
  if (jpeg_min_side <= 0) return 8;
  // libjpeg's scaled size: ceil(side * M / 8).
  const int64_t shorter = std::min(width, height);
  for (int m = 1; m < 8; ++m)
    if ((shorter * m + 7) / 8 >= jpeg_min_side) return m;
  return 8;
}

Image decode_image(const std::vector<uint8_t>& bytes, const std::string& where, int64_t max_pixels, int jpeg_min_side) {
  BRAINSEM_CHECK(bytes.size() >= 8, where, ": file is empty or too short to be an image");
  if (bytes[0] == 0xFF && bytes[1] == 0xD8) return decode_jpeg(bytes, where, max_pixels, jpeg_min_side);
  static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (std::memcmp(bytes.data(), png_sig, 8) == 0) return decode_png(bytes, where, max_pixels);
  fail(where, ": not a JPEG or PNG file (unknown signature); convert it to JPEG or PNG");
}

Image read_image(const std::filesystem::path& path, int64_t max_pixels, int jpeg_min_side) {
  std::ifstream in(path, std::ios::binary);
  BRAINSEM_CHECK(in, path.string(), ": cannot open the image file");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return decode_image(bytes, path.string(), max_pixels, jpeg_min_side);
}

Image to_rgb(const Image& im) {
  if (im.mode == Mode::RGB) return im;
  Image out = Image::blank(im.width, im.height, Mode::RGB);
  const size_t n = static_cast<size_t>(im.width) * im.height;
  const int c = im.channels();
  const uint8_t* s = im.pixels.data();
  uint8_t* d = out.pixels.data();
  for (size_t i = 0; i < n; ++i, s += c, d += 3) {
    switch (im.mode) {
      case Mode::L:
      case Mode::LA:
        d[0] = d[1] = d[2] = s[0];
        break;
      case Mode::RGBA:
        d[0] = s[0];
        d[1] = s[1];
        d[2] = s[2];
        break;
      case Mode::P:
        std::memcpy(d, im.palette.data() + 3 * s[0], 3);
        break;
      case Mode::CMYK: {
        const int nk = 255 - s[3];
        for (int k = 0; k < 3; ++k) d[k] = clip8(nk - muldiv255(s[k], nk));
        break;
      }
      case Mode::RGB:
        break;
    }
  }
  return out;
}

Image to_rgb_on_white(const Image& im) {
  const bool has_alpha =
      im.mode == Mode::LA || im.mode == Mode::RGBA || (im.mode == Mode::P && !im.palette_alpha.empty());
  if (!has_alpha) return to_rgb(im);
  Image rgb = to_rgb(im);
  const size_t n = static_cast<size_t>(im.width) * im.height;
  const int c = im.channels();
  for (size_t i = 0; i < n; ++i) {
    int a = 255;
    if (im.mode == Mode::P) {
      const uint8_t idx = im.pixels[i];
      a = idx < im.palette_alpha.size() ? im.palette_alpha[idx] : 255;
    } else {
      a = im.pixels[i * c + (c - 1)];
    }
    for (int k = 0; k < 3; ++k) rgb.pixels[i * 3 + k] = over_white(rgb.pixels[i * 3 + k], a);
  }
  return rgb;
}

}  // namespace brainsem::clip
