#include "brainsem/clip/embed_images.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "brainsem/core/error.h"
#include "brainsem/core/progress.h"
#include "brainsem/core/resources.h"
#include "brainsem/core/text.h"
#include "brainsem/data/feature_store.h"

namespace brainsem::clip {

namespace fs = std::filesystem;

bool is_synset(const std::string& s) {
  return s.size() == 9 && s[0] == 'n' &&
         std::all_of(s.begin() + 1, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

namespace {
bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

}  // namespace

ImageEntry make_entry(const fs::path& path) {
  ImageEntry e;
  e.path = path;
  e.name = path.stem().string();
  const std::string parent = path.parent_path().filename().string();
  if (is_synset(parent)) {
    e.cls = parent;
    e.imagenet_layout = path.parent_path().parent_path().filename() == "train";
  } else if (e.name.size() > 10 && e.name[9] == '_' && is_synset(e.name.substr(0, 9))) {
    e.cls = e.name.substr(0, 9);
  }
  return e;
}

std::vector<ImageEntry> list_images(const fs::path& src) {
  BRAINSEM_CHECK(fs::exists(src), src.string(), ": no such image directory or list file");
  std::vector<fs::path> paths;
  if (fs::is_directory(src)) {
    for (const auto& de : fs::recursive_directory_iterator(src, fs::directory_options::follow_directory_symlink))
      if (de.is_regular_file() && is_image_file(de.path())) paths.push_back(de.path());
  } else {
    std::ifstream in(src);
    BRAINSEM_CHECK(in, src.string(), ": cannot read the image list");
    std::string line;
    for (int lineno = 1; std::getline(in, line); ++lineno) {
      line = core::trim(line);
      if (line.empty() || line[0] == '#') continue;
      fs::path p(line);
      if (p.is_relative()) p = src.parent_path() / p;
      paths.push_back(p);  // missing files are reported (and skipped) when decoded
    }
  }
  std::sort(paths.begin(), paths.end());
  std::vector<ImageEntry> out;
  out.reserve(paths.size());
  for (const auto& p : paths) out.push_back(make_entry(p));
  return out;
}

std::vector<ImageEntry> select_classes(const std::vector<ImageEntry>& entries, const fs::path& classes_file,
                                       int per_class) {
  std::set<std::string> wanted;
  if (!classes_file.empty()) {
    std::ifstream in(classes_file);
    BRAINSEM_CHECK(in, classes_file.string(), ": cannot read the class list (one synset per line)");
    std::string line;
    for (int lineno = 1; std::getline(in, line); ++lineno) {
      line = core::trim(line);
      if (line.empty() || line[0] == '#') continue;
      std::string first = line.substr(0, line.find_first_of(" \t,"));
      BRAINSEM_CHECK(is_synset(first), classes_file.string(), ":", lineno, ": '", first,
                     "' is not a WordNet synset id like n01443537");
      wanted.insert(first);
    }
  }
  std::map<std::string, int> count;
  std::vector<ImageEntry> out;
  for (const auto& e : entries) {
    if (!wanted.empty() && !wanted.count(e.cls)) continue;
    if (per_class > 0 && count[e.cls]++ >= per_class) continue;
    out.push_back(e);
  }
  return out;
}

LeakageGuard LeakageGuard::god() {
  LeakageGuard g;
  std::istringstream tsv{std::string(core::resource("god_test_tsv"))};
  for (std::string line; std::getline(tsv, line);) {
    const std::string name = core::trim(line.substr(0, line.find('\t')));
    if (name.size() < 10) continue;
    g.test_images.insert(name);
    g.test_classes.insert(name.substr(0, 9));
  }
  std::istringstream csv{std::string(core::resource("god_test_info_csv"))};
  for (std::string line; std::getline(csv, line);) {
    const std::string name = core::trim(line.substr(0, line.find(',')));
    if (name.size() < 10 || !is_synset(name.substr(0, 9))) continue;  // header
    g.test_images.insert(name);
    g.test_classes.insert(name.substr(0, 9));
  }
  BRAINSEM_CHECK(!g.test_classes.empty(), "embedded GOD test tables are empty; the build is broken");
  return g;
}

std::string LeakageGuard::refusal(const ImageEntry& e) const {
  if (test_images.count(e.name)) return "leakage guard: GOD test image (use --allow-god-test for a test library)";
  if (test_classes.count(e.cls))
    return "leakage guard: GOD test class " + e.cls + " (use --allow-god-test for a test library)";
  return "";
}

namespace {

// Decoded, preprocessed images produced by worker threads, at most `window` ahead of the consumer.
class DecodePipeline {
 public:
  struct Item {
    torch::Tensor pixels;  // [3, S, S] float32, undefined on error
    std::string error;
  };

  DecodePipeline(const std::vector<const ImageEntry*>& todo, const PreprocessConfig& cfg, int64_t max_pixels,
                 int threads, int window)
      : todo_(todo),
        cfg_(cfg),
        max_pixels_(max_pixels),
        window_(std::max(1, window)),
        slots_(window_),
        ready_(window_, false) {
    for (int t = 0; t < threads; ++t) workers_.emplace_back([this] { run(); });
  }
  ~DecodePipeline() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }

  // The i-th item, in order (blocks until decoded).
  Item take(size_t i) {
    std::unique_lock<std::mutex> lock(mu_);
    const size_t s = i % window_;
    cv_.wait(lock, [&] { return ready_[s]; });
    Item it = std::move(slots_[s]);
    ready_[s] = false;
    consumed_ = i + 1;
    lock.unlock();
    cv_.notify_all();
    return it;
  }

 private:
  void run() {
    for (;;) {
      size_t i;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || (next_ < todo_.size() && next_ < consumed_ + window_); });
        if (stop_ || next_ >= todo_.size()) return;
        i = next_++;
      }
      Item it;
      try {
        it.pixels = preprocess(read_image(todo_[i]->path, max_pixels_, cfg_.jpeg_min_side()), cfg_);
      } catch (const std::exception& e) {
        it.error = e.what();
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        slots_[i % window_] = std::move(it);
        ready_[i % window_] = true;
      }
      cv_.notify_all();
    }
  }

  const std::vector<const ImageEntry*>& todo_;
  PreprocessConfig cfg_;
  int64_t max_pixels_;
  size_t window_;
  std::vector<Item> slots_;
  std::vector<bool> ready_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t next_ = 0, consumed_ = 0;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace

namespace {
struct Skip {
  size_t index;  // in the entry list: the store lists skips in the entries' order
  std::string name, reason;
};
}  // namespace

std::pair<size_t, size_t> part_slice(size_t n, int batch, int index, int count) {
  const size_t b = static_cast<size_t>(std::max(batch, 1)), windows = (n + b - 1) / b;
  const auto bound = [&](int k) {
    return std::min(n, windows * static_cast<size_t>(k) / static_cast<size_t>(count) * b);
  };
  return {bound(index), bound(index + 1)};
}

EmbedReport embed_images(ImageEncoder& encoder, const std::vector<ImageEntry>& entries, const fs::path& out,
                         const EmbedOptions& opts) {
  BRAINSEM_CHECK(opts.batch > 0, "embed: --batch must be positive");
  const EncoderInfo& info = encoder.info();
  const std::string encoder_id = opts.encoder_id.empty() ? info.id : opts.encoder_id;
  PreprocessConfig pre = info.preprocess;
  pre.fast_jpeg = opts.fast_jpeg;
  const std::string prep_id = pre.id();

  // Resume: keep what the output (or the store to resume from) already holds of this share.
  const size_t first = std::min(opts.first, entries.size()), last = std::min(opts.last, entries.size());
  const bool whole_list = first == 0 && last == entries.size();
  std::unordered_set<std::string> share_names;  // names first listed in this part: its rows
  if (!whole_list) {
    std::unordered_set<std::string> earlier;
    for (size_t i = 0; i < last; ++i)
      if (earlier.insert(entries[i].name).second && i >= first) share_names.insert(entries[i].name);
  }
  torch::Tensor old_features;
  std::vector<std::string> names, classes;
  std::vector<Skip> skipped;
  std::unordered_set<std::string> have;
  EmbedReport report;
  const fs::path resume = fs::exists(out) || opts.resume_from.empty() ? out : opts.resume_from;
  if (fs::exists(resume)) {
    auto old = data::FeatureStore::open(resume);
    BRAINSEM_CHECK(old.encoder == encoder_id && old.preprocessing == prep_id, resume.string(),
                   ": exists with encoder '", old.encoder, "' / preprocessing '", old.preprocessing,
                   "', but this run uses '", encoder_id, "' / '", prep_id,
                   "'; choose another --out or delete it to start over");
    BRAINSEM_CHECK(old.dim() == info.embed_dim, resume.string(), ": exists with dimension ", old.dim(),
                   ", the model gives ", info.embed_dim);
    std::vector<int64_t> keep;  // a share keeps only its own rows
    for (int64_t r = 0; r < old.size(); ++r)
      if (whole_list || share_names.count(old.names[static_cast<size_t>(r)])) keep.push_back(r);
    old_features = old.features.index_select(0, torch::tensor(keep, torch::kInt64));
    for (int64_t r : keep) {
      names.push_back(old.names[static_cast<size_t>(r)]);
      classes.push_back(old.classes[static_cast<size_t>(r)]);
    }
    have.insert(names.begin(), names.end());
    report.reused = static_cast<int64_t>(names.size());
  }

  // What to compute: new, unique, allowed. Refusals are decided again on every run (and over the
  // whole list, whichever share is embedded), so a resumed or shared store lists the same ones.
  const LeakageGuard guard = opts.leakage_guard ? LeakageGuard::god() : LeakageGuard{};
  std::vector<const ImageEntry*> todo;
  std::vector<size_t> todo_index;  // position of todo[k] in `entries`
  std::unordered_set<std::string> seen, refused;
  for (size_t i = 0; i < last; ++i) {
    const auto& e = entries[i];
    const bool mine = i >= first;
    if (!seen.insert(e.name).second) {
      if (mine)
        skipped.push_back(
            {i, e.name, "duplicate image name (" + e.path.string() + "); names are file stems and must be unique"});
      continue;
    }
    if (!mine) continue;
    if (opts.leakage_guard && e.imagenet_layout) {
      const std::string why = guard.refusal(e);
      if (!why.empty()) {
        skipped.push_back({i, e.name, why});
        refused.insert(e.name);
        continue;
      }
    }
    if (have.count(e.name)) continue;
    todo.push_back(&e);
    todo_index.push_back(i);
  }
  int64_t guarded = static_cast<int64_t>(skipped.size());
  bool dropped_rows = false;
  // Rows an earlier run kept that this run's guard refuses (a store written with --allow-god-test,
  // resumed without it) go: the store never holds a row beside its own refusal.
  if (!refused.empty() && !names.empty()) {
    std::vector<int64_t> allowed;
    for (size_t r = 0; r < names.size(); ++r)
      if (!refused.count(names[r])) allowed.push_back(static_cast<int64_t>(r));
    if (allowed.size() < names.size()) {
      old_features = old_features.index_select(0, torch::tensor(allowed, torch::kInt64));
      std::vector<std::string> kept_names, kept_classes;
      for (int64_t r : allowed) {
        kept_names.push_back(names[static_cast<size_t>(r)]);
        kept_classes.push_back(classes[static_cast<size_t>(r)]);
      }
      names = std::move(kept_names);
      classes = std::move(kept_classes);
      report.reused = static_cast<int64_t>(names.size());
      dropped_rows = true;
    }
  }

  const int threads = opts.decode_threads > 0 ? opts.decode_threads
                                              : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::vector<torch::Tensor> new_rows;  // [b, D] per batch
  std::vector<std::string> new_names, new_classes;

  auto save = [&] {
    data::FeatureStore s;
    std::vector<torch::Tensor> parts;
    if (old_features.defined() && old_features.size(0) > 0) parts.push_back(old_features);
    for (const auto& r : new_rows) parts.push_back(r);
    s.features = parts.empty() ? torch::zeros({0, info.embed_dim}) : torch::cat(parts, 0);
    s.names = names;
    s.names.insert(s.names.end(), new_names.begin(), new_names.end());
    s.classes = classes;
    s.classes.insert(s.classes.end(), new_classes.begin(), new_classes.end());
    s.encoder = encoder_id;
    s.preprocessing = prep_id;
    std::stable_sort(skipped.begin(), skipped.end(), [](const Skip& a, const Skip& b) { return a.index < b.index; });
    for (const auto& k : skipped) s.skipped.emplace_back(k.name, k.reason);
    s.extra = opts.extra;
    s.extra["arch"] = info.arch;
    s.extra["format"] = info.format;
    s.save(out);
    return s.size();
  };

  core::Progress bar("embed", static_cast<int64_t>(todo.size()), "img");
  {
    DecodePipeline pipe(todo, pre, opts.max_pixels, threads, opts.batch * 4);
    std::vector<torch::Tensor> batch;
    std::vector<const ImageEntry*> batch_entries;
    int64_t since_checkpoint = 0;
    auto flush = [&] {
      if (batch.empty()) return;
      auto emb = encoder.encode(torch::stack(batch));  // [b, D]
      new_rows.push_back(emb);
      for (const auto* e : batch_entries) {
        new_names.push_back(e->name);
        new_classes.push_back(e->cls);
      }
      since_checkpoint += static_cast<int64_t>(batch.size());
      batch.clear();
      batch_entries.clear();
      if (opts.checkpoint_every > 0 && since_checkpoint >= opts.checkpoint_every) {
        save();
        since_checkpoint = 0;
      }
    };
    // A batch holds the images of one window of `batch` consecutive list entries: a row's numbers
    // depend (in the last float bits) on which images share its batch, so fixed windows make a row
    // the same whether the list is embedded whole, in parts, or resumed.
    const size_t window = static_cast<size_t>(opts.batch);
    size_t batch_window = 0;
    for (size_t i = 0; i < todo.size(); ++i) {
      auto item = pipe.take(i);  // the next batch decodes while the model runs on this one
      if (!batch.empty() && todo_index[i] / window != batch_window) flush();
      batch_window = todo_index[i] / window;
      if (item.pixels.defined()) {
        batch.push_back(item.pixels);
        batch_entries.push_back(todo[i]);
      } else {
        std::fprintf(stderr, "brainsem embed: skipped: %s\n", item.error.c_str());  // the error names the file
        skipped.push_back({todo_index[i], todo[i]->name, item.error});
      }
      bar.update(static_cast<int64_t>(i + 1), cat(skipped.size() - guarded, " unreadable"));
    }
    flush();
  }
  bar.finish(cat(new_names.size(), " embedded, ", skipped.size(), " skipped, ", report.reused, " already present"));
  report.embedded = static_cast<int64_t>(new_names.size());
  report.skipped = static_cast<int64_t>(skipped.size());
  // A part is written even when empty: its skipped list belongs to the joined store.
  if (report.embedded + report.reused > 0 || !whole_list || dropped_rows) report.total_rows = save();
  return report;
}

}  // namespace brainsem::clip
