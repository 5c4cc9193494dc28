// Writes each fuzz target's seed corpus with the program's own writers (so the seeds are the
// files users really have), plus a few image encodings through libpng and libjpeg.
//   make_seeds OUT_DIR   ->  OUT_DIR/<target>/<seed files>
#include <cstdio>  // before jpeglib.h, which needs FILE and size_t
#include <jpeglib.h>
#include <png.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "brainsem/io/bdata.h"
#include "brainsem/io/npy.h"
#include "brainsem/io/safetensors.h"
#include "brainsem/train/checkpoint.h"

namespace fs = std::filesystem;
using namespace brainsem;

namespace {

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

void write_png(const fs::path& path, int width, int height, png_uint_32 format) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = width;
  image.height = height;
  image.format = format;
  std::vector<png_byte> pixels(PNG_IMAGE_SIZE(image));
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<png_byte>(i * 37);
  if (!png_image_write_to_file(&image, path.c_str(), 0, pixels.data(), 0, nullptr))
    throw std::runtime_error("cannot write " + path.string() + ": " + image.message);
}

void write_jpeg(const fs::path& path, int width, int height, int components, bool progressive) {
  FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) throw std::runtime_error("cannot write " + path.string());
  jpeg_compress_struct cinfo{};
  jpeg_error_mgr jerr{};
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  jpeg_stdio_dest(&cinfo, file);
  cinfo.image_width = width;
  cinfo.image_height = height;
  cinfo.input_components = components;
  cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 75, TRUE);
  if (progressive) jpeg_simple_progression(&cinfo);
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<JSAMPLE> row(static_cast<size_t>(width) * components);
  while (cinfo.next_scanline < cinfo.image_height) {
    for (size_t i = 0; i < row.size(); ++i) row[i] = static_cast<JSAMPLE>(i * 11 + cinfo.next_scanline * 7);
    JSAMPROW rows[] = {row.data()};
    jpeg_write_scanlines(&cinfo, rows, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::fclose(file);
}

io::BData small_bdata() {
  io::BData b;
  b.dataset = torch::arange(24, torch::kFloat64).reshape({4, 6});
  auto v1 = torch::tensor({1.0, 1.0, 0.0, 0.0, 0.0, 0.0}, torch::kFloat64);
  auto label = torch::full({6}, std::nan(""), torch::kFloat64);
  label[5] = 1;
  b.keys = {"ROI_V1", "Label"};
  b.descriptions = {"1 = V1 voxel", "1 = stimulus label"};
  b.values = torch::stack({v1, label});
  return b;
}

train::CheckpointState small_checkpoint() {
  train::CheckpointState s;
  s.config = {{"encoder", {{"kind", "linear"}, {"width", 4}}}, {"steps", 10}, {"seed", 1}};
  s.step = 3;
  s.best_step = 2;
  s.best_val = 0.25;
  s.model = {{"proj.weight", torch::randn({4, 6})}, {"proj.bias", torch::zeros({4})}};
  s.best = {torch::randn({4, 6}), torch::zeros({4})};
  s.log_scale = torch::tensor({2.0f});
  s.adam.push_back(train::CheckpointState::AdamMoments{3, torch::randn({4, 6}), torch::rand({4, 6})});
  s.adam.emplace_back(std::nullopt);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seeds OUT_DIR\n";
    return 2;
  }
  const fs::path out = argv[1];
  for (const char* target : {"safetensors", "npy", "bdata", "checkpoint", "tokenizer", "image"})
    fs::create_directories(out / target);
  torch::manual_seed(0);
  try {
    io::write_safetensors(out / "safetensors/store.safetensors",
                          {{"features", torch::randn({3, 4})},
                           {"ids", torch::arange(3)},
                           {"half", torch::ones({2}, torch::kFloat16)},
                           {"flag", torch::tensor(true)}},
                          {{"model", "ViT-B-32"}, {"names", "[\"a.jpg\",\"b.jpg\",\"c.jpg\"]"}});
    io::write_safetensors(out / "safetensors/empty.safetensors", {});
    io::write_npy(out / "npy/f32.npy", torch::randn({3, 5}));
    io::write_npy(out / "npy/f64.npy", torch::randn({2, 2, 2}, torch::kFloat64));
    io::write_npy(out / "npy/i64.npy", torch::arange(7));
    io::write_npy(out / "npy/u8.npy", torch::arange(5, torch::kUInt8));
    io::write_npy(out / "npy/bool.npy", torch::tensor({true, false}));
    io::write_bdata(out / "bdata/subject.h5", small_bdata());
    io::BDataWriteOptions legacy;  // /dataSet, /metaData and variable-length strings
    legacy.legacy_names = legacy.variable_length_strings = true;
    io::write_bdata(out / "bdata/legacy.h5", small_bdata(), legacy);
    train::write_checkpoint(out / "checkpoint/checkpoint.safetensors", small_checkpoint());
    write_text(out / "tokenizer/prompt.txt", "a photo of a goldfish, Carassius auratus.");
    write_text(out / "tokenizer/mixed.txt",
               "  Caf\xc3\xa9 &amp; na\xc3\xafve it's 2024 \xe2\x80\x94 \xf0\x9f\x90\x9f <|endoftext|>");
    write_png(out / "image/rgb.png", 5, 3, PNG_FORMAT_RGB);
    write_png(out / "image/rgba.png", 4, 4, PNG_FORMAT_RGBA);
    write_png(out / "image/gray.png", 3, 2, PNG_FORMAT_GRAY);
    write_jpeg(out / "image/rgb.jpg", 9, 7, 3, false);
    write_jpeg(out / "image/gray_progressive.jpg", 8, 8, 1, true);
  } catch (const std::exception& e) {
    std::cerr << "make_seeds: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
