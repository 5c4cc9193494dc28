#!/usr/bin/env bash
# `brainsem embed --fast-jpeg` against Pillow-exact decoding on photographs: the golden JPEGs
# (dog 768x576, eagle 773x512) as they are, the golden astronaut and camera (512x512) saved as
# JPEG (quality 90), and all four resized to ImageNet's usual 500x375 (bicubic, quality 90).
# Prints compare_bench's embed JSON: decode+preprocess in images/s both ways, and the fast crops'
# difference from the exact ones in 8-bit levels (fast_jpeg_mean_abs_levels, _max_abs_levels).
# Usage: bench/fast_jpeg.sh [BUILD_DIR]   (default build, configured with -DBRAINSEM_BUILD_BENCH=ON;
#        needs /usr/bin/python3 with python3-pil to write the JPEGs)
set -euo pipefail
build=${1:-build}
shared=${BRAINSEM_SHARED_DIR:-$(dirname "$0")/../../shared}
images="$shared/golden/clip_openai/images"
[ -x "$build/bench/compare_bench" ] || { echo "no $build/bench/compare_bench; build with -DBRAINSEM_BUILD_BENCH=ON" >&2; exit 1; }
[ -f "$images/dog.jpg" ] || { echo "no $images/dog.jpg; set BRAINSEM_SHARED_DIR" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 - "$images" "$work" <<'PY'
import os, shutil, sys
from PIL import Image
src, out = sys.argv[1:]
for name in ("dog", "eagle"):
    shutil.copy(os.path.join(src, name + ".jpg"), os.path.join(out, name + ".jpg"))
for name in ("astronaut", "camera"):
    Image.open(os.path.join(src, name + ".png")).convert("RGB").save(os.path.join(out, name + "_512.jpg"), quality=90)
for name, ext in (("dog", "jpg"), ("eagle", "jpg"), ("astronaut", "png"), ("camera", "png")):
    im = Image.open(os.path.join(src, f"{name}.{ext}")).convert("RGB").resize((500, 375), Image.BICUBIC)
    im.save(os.path.join(out, name + "_500x375.jpg"), quality=90)
PY
"$build/bench/compare_bench" embed --images "$work" --count 0 --batch 8
