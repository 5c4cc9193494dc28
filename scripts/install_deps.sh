#!/usr/bin/env bash
# Installs the Debian 12 packages BrainSem needs, only those missing (idempotent). Runs apt-get
# through sudo when not root. Every dependency is a Debian package: nothing else is downloaded.
# --bench adds what bench/run.sh compares against: PyTorch-Python, Pillow and numpy, and GNU time.
# --fuzz adds clang 14 and its libFuzzer/sanitizer runtimes for scripts/fuzz.sh.
set -euo pipefail
packages=(
  build-essential make cmake ninja-build pkg-config
  libtorch-dev libopenblas0-pthread   # LibTorch + a fast BLAS (reference BLAS is 25x slower)
  libhdf5-dev nlohmann-json3-dev libcli11-dev
  libgloo-dev                          # Gloo headers: torch.distributed (c10d) on the CPU
  libgtest-dev libgmock-dev libbenchmark-dev
  libjpeg-dev libpng-dev libcairo2-dev libicu-dev zlib1g-dev libsvm-dev
  wordnet-base                         # WordNet 3.0: synset names and biotic/abiotic classes
  chromium                             # headless check that report.html renders (tests skip without it)
)
for option in "$@"; do
  case "$option" in
    --bench) packages+=(python3-torch python3-pil python3-numpy time) ;;
    --fuzz) packages+=(clang-14 libclang-rt-14-dev) ;;  # libFuzzer and the sanitizer runtimes
    *) echo "install_deps: unknown option $option (--bench, --fuzz)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#packages[@]} Debian packages present"
  exit 0
fi
echo "install_deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
