#pragma once
// Class-embedding tables: one vector per class (e.g. CLIP text prototypes from `brainsem
// embed-text`, word vectors, mean image features), used instead of image features as training
// targets and zero-shot prototypes (docs/generic_data.md).
//
// File: safetensors with one tensor "embeddings" (F32 or F64 [C, E]; stored F32 by our writer)
// and __metadata__:
//   format   "brainsem.class_embeddings.v1"
//   classes  JSON array [C] of class names, row order (unique, non-empty)
//   encoder  what produced the vectors, e.g. "openai/ViT-B-32:text" (optional; default "unknown")
//   extra    JSON object of free-form provenance (optional)
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "brainsem/data/feature_store.h"

namespace brainsem::data {

inline constexpr const char* kClassEmbeddingsFormat = "brainsem.class_embeddings.v1";

struct ClassEmbeddings {
  torch::Tensor embeddings;          // [C, E] float32
  std::vector<std::string> classes;  // [C]
  std::string encoder = "unknown";
  std::map<std::string, std::string> extra;
  std::string source;  // file it came from (for messages)

  int64_t size() const { return static_cast<int64_t>(classes.size()); }
  int64_t dim() const { return embeddings.size(1); }
  // Row of class `cls`; throws "<what>: class X has no embedding in <source>" listing a few it has.
  int64_t row_of(const std::string& cls, const std::string& what) const;
  // Rows for each class of `wanted` [n] -> [n, E]; throws for the first class without an embedding.
  torch::Tensor rows_for(const std::vector<std::string>& wanted, const std::string& what) const;
  // The table restricted to (and reordered as) `wanted` classes.
  ClassEmbeddings subset(const std::vector<std::string>& wanted, const std::string& what) const;
};

// Reads and validates (shape, finiteness, unique non-empty class names, format string).
ClassEmbeddings read_class_embeddings(const std::filesystem::path& path);
// Validates and writes atomically. `provenance`: further metadata keys (e.g. embed-text's templates);
// they may not replace format, classes, encoder or extra.
void write_class_embeddings(const std::filesystem::path& path, const ClassEmbeddings& table,
                            const std::map<std::string, std::string>& provenance = {});
// Throws naming `where` for: not [C, E], C != classes, non-finite values, empty/duplicate names.
void validate_class_embeddings(const ClassEmbeddings& table, const std::string& where);

// A feature store that gives every stimulus the embedding of its class, so code that looks
// features up by stimulus name (training data, prototypes, ridge) uses per-class targets.
// names/classes [N] (repeated names must carry the same class); one row per distinct name.
// Throws for a class without an embedding and for a name listed under two classes.
FeatureStore class_embedding_stimuli(const ClassEmbeddings& table, const std::vector<std::string>& names,
                                     const std::vector<std::string>& classes);
// A store with one row per class of `classes` (names = classes = class name): a semantic library
// of class embeddings. Throws for a class without an embedding.
FeatureStore class_embedding_library(const ClassEmbeddings& table, const std::vector<std::string>& classes);

// The encoder id stores built from a table carry: "class-embeddings:<table.encoder>".
std::string class_embedding_encoder_id(const ClassEmbeddings& table);

}  // namespace brainsem::data
