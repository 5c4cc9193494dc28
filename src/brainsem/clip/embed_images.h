#pragma once
// `brainsem embed`: images -> a data::FeatureStore of CLIP image embeddings.
// Decoding and preprocessing run on worker threads, a bounded window ahead of the model, so
// decoding overlaps the model's batches. Runs are resumable (rows already in the output are kept
// and not recomputed; the store is checkpointed while running), corrupt images are reported and
// listed in the store's `skipped`, and an ImageNet-layout training library is guarded against
// GOD test leakage.
#include <torch/torch.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "brainsem/clip/image.h"
#include "brainsem/clip/image_encoder.h"

namespace brainsem::clip {

struct ImageEntry {
  std::filesystem::path path;
  std::string name;              // file stem, e.g. "n01443537_22563"
  std::string cls;               // synset ("n01443537") from the folder or the file-name prefix, else ""
  bool imagenet_layout = false;  // .../train/nXXXXXXXX/file
};

// True for "n" followed by 8 digits.
bool is_synset(const std::string& s);
// One entry per image file (.jpg/.jpeg/.png, any case) under a directory (recursive), or per
// line of a list file (paths relative to the list's folder; blank lines and '#' comments
// skipped). Sorted by path. Throws if the directory/list does not exist.
std::vector<ImageEntry> list_images(const std::filesystem::path& dir_or_list);
ImageEntry make_entry(const std::filesystem::path& path);

// Keeps only the classes listed in `classes_file` (one synset per line, first field) and at most
// `per_class` images per class (0 = all), in sorted order.
std::vector<ImageEntry> select_classes(const std::vector<ImageEntry>& entries,
                                       const std::filesystem::path& classes_file, int per_class);

// GOD test classes and test images (embedded tables god_test_tsv and god_test_info_csv).
struct LeakageGuard {
  std::set<std::string> test_classes, test_images;
  static LeakageGuard god();
  // Why `e` may not enter a training library, or "" if it may.
  std::string refusal(const ImageEntry& e) const;
};

struct EmbedOptions {
  int batch = 32;             // a batch is the images of `batch` consecutive entries (fewer where some are skipped)
  int decode_threads = 0;     // 0 = one per core
  bool leakage_guard = true;  // applies to ImageNet-layout (train/nXXXXXXXX/) inputs
  int64_t checkpoint_every = 2048;           // images between checkpoints of the output store
  int64_t max_pixels = kDefaultMaxPixels;    // larger images are skipped as decompression bombs (0 = no limit)
  bool fast_jpeg = false;                    // PreprocessConfig::fast_jpeg (recorded in the preprocessing id)
  std::string encoder_id;                    // overrides the encoder's id in the store when set
  std::map<std::string, std::string> extra;  // provenance written to the store
  // A part of the list (a distributed or --shard run): only entries [first, last) are embedded
  // and only their rows are kept from a store resumed from; the entries before `first` still count
  // for duplicate names. With `first` a multiple of `batch`, the parts join into the bytes of the
  // single-process store (part_slice).
  size_t first = 0, last = SIZE_MAX;
  // Resume from this store instead of `out` when `out` does not exist yet (a share resuming from the
  // joined store of an earlier run).
  std::filesystem::path resume_from;
};

struct EmbedReport {
  int64_t embedded = 0;  // new rows computed in this run
  int64_t reused = 0;    // rows already in the output
  int64_t skipped = 0;   // unreadable, refused or duplicate inputs (this run)
  int64_t total_rows = 0;
};

// Entries [first, last) of part `index` of `count` over `n` entries: contiguous slices whose bounds
// are multiples of `batch`, so every part batches its images as one process would.
std::pair<size_t, size_t> part_slice(size_t n, int batch, int index, int count);

// Embeds `entries` into the feature store at `out` (created, or resumed when it exists with the
// same encoder and preprocessing). Rows follow the entries' order; `skipped` lists refused and
// unreadable inputs in the entries' order too. Never throws for a bad image; throws for a bad output
// or an incompatible existing store.
EmbedReport embed_images(ImageEncoder& encoder, const std::vector<ImageEntry>& entries,
                         const std::filesystem::path& out, const EmbedOptions& opts);

}  // namespace brainsem::clip
