#!/usr/bin/env python3
"""Writes the worked example of docs/generic_data.md: a small non-GOD fMRI dataset (standard library
only, deterministic). It is committed, so running the example needs no Python; this file says how it
was made.

24 object classes in 4 superordinate groups, 4 stimuli per class, 3 ROIs with their own names.
Each voxel responds to the class's 16-d embedding (the semantic part) and to a per-stimulus
low-level pattern that is unrelated to the class, plus noise. The mix differs by ROI, which is the
known answer the example's cross-validation recovers:
    EVC   (60 voxels)  semantic weight 0.15, low-level weight 1.0
    LOTC  (50 voxels)  semantic weight 0.6,  low-level weight 0.6
    VTC   (40 voxels)  semantic weight 1.0,  low-level weight 0.3
Embeddings are anisotropic (dimension d scaled by 1/sqrt(1 + d)) and clustered by group, like word
vectors or CLIP text prototypes.
"""
import math
import random

GROUPS = {
    "fruit": ["apple", "banana", "cherry", "grape", "lemon", "pear"],
    "tool": ["hammer", "saw", "drill", "wrench", "pliers", "chisel"],
    "animal": ["dog", "cat", "horse", "rabbit", "owl", "wolf"],
    "vehicle": ["car", "bus", "bicycle", "tractor", "boat", "truck"],
}
TEST = {"pear", "grape", "chisel", "drill", "wolf", "owl", "truck", "boat"}  # 8 held-out classes (zero-shot)
ROIS = [("EVC", 60, 0.15, 1.0), ("LOTC", 50, 0.6, 0.6), ("VTC", 40, 1.0, 0.3)]
DIM, LOW, STIMULI_PER_CLASS, NOISE = 16, 8, 4, 6.0

rng = random.Random(20261206)
gauss = rng.gauss
scale = [1 / math.sqrt(1 + d) for d in range(DIM)]

classes, embedding = [], {}
for group, members in GROUPS.items():
    centre = [gauss(0, 1) for _ in range(DIM)]
    for c in members:
        classes.append(c)
        embedding[c] = [scale[d] * (centre[d] + 0.8 * gauss(0, 1)) for d in range(DIM)]

# Voxel tuning: a weight vector on the embedding and one on the low-level pattern.
voxels = []
for roi, count, semantic, low in ROIS:
    for _ in range(count):
        w_sem = [semantic * gauss(0, 1) for _ in range(DIM)]
        w_low = [low * gauss(0, 1) for _ in range(LOW)]
        voxels.append((roi, w_sem, w_low))

rows = []
for c in classes:
    for k in range(1, STIMULI_PER_CLASS + 1):
        pattern = [gauss(0, 1) for _ in range(LOW)]
        x = []
        for _, w_sem, w_low in voxels:
            s = sum(a * b for a, b in zip(w_sem, embedding[c])) + sum(a * b for a, b in zip(w_low, pattern))
            x.append(s + NOISE * gauss(0, 1))
        rows.append((f"{c}_{k}", c, "test" if c in TEST else "train", x))


def write(name, lines):
    with open(name, "w") as f:
        f.write("\n".join(lines) + "\n")


write("betas.csv", [",".join(f"{v:.5f}" for v in x) for _, _, _, x in rows])
write("stimuli.txt", [r[0] for r in rows])
write("classes.txt", [r[1] for r in rows])
write("split.txt", [r[2] for r in rows])
write("rois.txt", [roi for roi, _, _ in voxels])
write("embeddings.csv", [",".join(f"{v:.6f}" for v in embedding[c]) for c in classes])
write("embedding_classes.txt", classes)
