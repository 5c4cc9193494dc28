#!/usr/bin/env python3
"""The PyTorch-Python half of bench/run.sh: what a researcher would otherwise run, measured the
way bench/compare_bench measures BrainSem, printing one JSON object per run.

  bench_pytorch.py train-step --token-width P --depth D --heads H [--batch 200] [--steps 3] [--compile]
      The same encoder (pre-norm ViT over 7 ROI tokens plus CLS, width 512, MLP 2048, the CLS
      output as the embedding), the same fuzzy matching loss (temperature 1) and Adam (lr 1e-4) on
      fixed random inputs; the median step time after one warm-up step (after a device
      synchronisation on a GPU). --compile wraps the model
      and loss in torch.compile (PyTorch 2.x only; its compile time is spent in warm-up steps).
  bench_pytorch.py embed --images DIR [--count 32] [--batch 8]
      CLIP ViT-B/16 shapes with random weights; Pillow decoding and torchvision-style transforms
      (bicubic resize of the short side to 224, centre crop, normalise) in a DataLoader with
      --threads workers: decode+preprocess only, the model only, end to end, in images/s.

--device cuda[:N] runs the models on a GPU. Needs PyTorch, Pillow and numpy (Debian: python3-torch python3-pil python3-numpy).
"""
import argparse
import json
import math
import os
import resource
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class Block(nn.Module):
    """Pre-norm transformer block, as BrainSem's (fused qkv, GELU MLP)."""

    def __init__(self, width, heads, mlp):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width, eps=1e-6)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width, eps=1e-6)
        self.fc1 = nn.Linear(width, mlp)
        self.fc2 = nn.Linear(mlp, width)

    def forward(self, x):
        b, t, d = x.shape
        hd = d // self.heads
        q, k, v = self.qkv(self.norm1(x)).view(b, t, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
        attn = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(hd), -1)
        h = x + self.proj((attn @ v).transpose(1, 2).reshape(b, t, d))
        return h + self.fc2(F.gelu(self.fc1(self.norm2(h))))


class FmriEncoder(nn.Module):
    def __init__(self, tokens, token_width, width, depth, heads, mlp):
        super().__init__()
        self.token_embed = nn.Linear(token_width, width)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, width))
        self.pos_embed = nn.Parameter(torch.randn(1, tokens + 1, width) * 0.02)
        self.blocks = nn.ModuleList(Block(width, heads, mlp) for _ in range(depth))
        self.norm = nn.LayerNorm(width, eps=1e-6)

    def forward(self, x):
        h = self.token_embed(x)
        h = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), h], 1) + self.pos_embed
        for block in self.blocks:
            h = block(h)
        return self.norm(h)[:, 0]


def fuzzy_matching_loss(brain, image, classes):
    logits = F.normalize(brain, dim=1) @ F.normalize(image, dim=1).t()
    j = (classes[:, None] == classes[None, :]).float()
    return -((j / j.sum(1, keepdim=True)) * torch.log_softmax(logits, 1)).sum(1).mean()


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_step(args):
    torch.manual_seed(0)
    dev = torch.device(args.device)
    model = FmriEncoder(7, args.token_width, 512, args.depth, args.heads, 2048).to(dev)
    adam = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.randn(args.batch, 7, args.token_width, device=dev)
    y = torch.randn(args.batch, 512, device=dev)
    classes = torch.randint(150, (args.batch,), device=dev)
    forward = lambda: fuzzy_matching_loss(model(x), y, classes)
    if args.compile:
        if not hasattr(torch, "compile"):
            raise SystemExit("--compile needs PyTorch 2.x; this is " + torch.__version__)
        forward = torch.compile(forward)

    def step():
        adam.zero_grad()
        loss = forward()
        loss.backward()
        adam.step()
        return loss.item()

    for _ in range(3 if args.compile else 1):  # warm-up (and compilation)
        step()
    sync(dev)
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        sync(dev)
        times.append((time.perf_counter() - t0) * 1000)
    return {"mode": "train-step", "impl": "pytorch-compile" if args.compile else "pytorch-eager", "device": str(dev),
            "token_width": args.token_width, "depth": args.depth, "heads": args.heads, "batch": args.batch,
            "steps": args.steps, "step_ms": statistics.median(times), "threads": torch.get_num_threads(),
            "torch": torch.__version__}


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, width * 4), nn.GELU(), nn.Linear(width * 4, width))
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x):  # [T, B, D], as CLIP's
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class VisionTransformer(nn.Module):
    """CLIP's ViT-B/16 image tower (patch 16, width 768, 12 layers, 12 heads, output 512)."""

    def __init__(self, size=224, patch=16, width=768, layers=12, heads=12, out=512):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, patch, patch, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(width) * width**-0.5)
        self.positional_embedding = nn.Parameter(torch.randn((size // patch) ** 2 + 1, width) * width**-0.5)
        self.ln_pre = nn.LayerNorm(width)
        self.blocks = nn.Sequential(*[ResidualAttentionBlock(width, heads) for _ in range(layers)])
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.randn(width, out) * width**-0.5)

    def forward(self, x):
        x = self.conv1(x).flatten(2).permute(0, 2, 1)
        x = torch.cat([self.class_embedding.expand(x.shape[0], 1, -1), x], 1) + self.positional_embedding
        x = self.blocks(self.ln_pre(x).permute(1, 0, 2)).permute(1, 0, 2)
        return F.normalize(self.ln_post(x[:, 0]) @ self.proj, dim=-1)


class ImageFolder(torch.utils.data.Dataset):
    """Pillow decode + torchvision-style CLIP transforms (Resize(224, BICUBIC), CenterCrop(224),
    ToTensor, Normalize), written out so that torchvision is not needed."""

    def __init__(self, paths):
        self.paths = paths

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        im = Image.open(self.paths[i]).convert("RGB")
        w, h = im.size  # torchvision's Resize(224): the short side to 224, the long one int(224 * long / short)
        size = (224, int(224 * h / w)) if w <= h else (int(224 * w / h), 224)
        im = im.resize(size, Image.BICUBIC)
        w, h = im.size
        left, top = int(round((w - 224) / 2.0)), int(round((h - 224) / 2.0))
        im = im.crop((left, top, left + 224, top + 224))
        x = torch.from_numpy(np.asarray(im, dtype=np.uint8).copy()).permute(2, 0, 1).float() / 255
        return (x - torch.tensor(CLIP_MEAN)[:, None, None]) / torch.tensor(CLIP_STD)[:, None, None]


def embed(args):
    exts = (".jpg", ".jpeg", ".png")
    paths = sorted(os.path.join(r, f) for r, _, fs in os.walk(args.images) for f in fs if f.lower().endswith(exts))
    if args.count > 0:
        paths = paths[: args.count]
    n = len(paths)
    torch.manual_seed(0)
    dev = torch.device(args.device)
    model = VisionTransformer().eval().to(dev)
    loader = lambda: torch.utils.data.DataLoader(ImageFolder(paths), batch_size=args.batch,
                                                 num_workers=torch.get_num_threads())
    t0 = time.perf_counter()
    for _ in loader():
        pass
    decode_s = time.perf_counter() - t0
    batch = torch.randn(args.batch, 3, 224, 224)
    with torch.no_grad():  # inputs from host memory and outputs back to it, as in the pipeline
        model(batch.to(dev)).cpu()  # warm-up
        t0 = time.perf_counter()
        for i in range(0, n, args.batch):
            model(batch[: min(args.batch, n - i)].to(dev)).cpu()
        model_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        rows = [model(x.to(dev)).cpu() for x in loader()]
        torch.cat(rows).numpy()
        end_to_end_s = time.perf_counter() - t0
    return {"mode": "embed", "impl": "pil-dataloader", "device": str(dev), "images": n, "batch": args.batch,
            "threads": torch.get_num_threads(), "decode_preprocess_images_per_s": n / decode_s,
            "model_images_per_s": n / model_s, "end_to_end_images_per_s": n / end_to_end_s,
            "torch": torch.__version__}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads and DataLoader workers")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--label", help="the result's impl field (default: what ran, e.g. pytorch-eager)")
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("train-step")
    s.add_argument("--token-width", type=int, default=1000)
    s.add_argument("--depth", type=int, default=6)
    s.add_argument("--heads", type=int, default=4)
    s.add_argument("--batch", type=int, default=200)
    s.add_argument("--steps", type=int, default=3)
    s.add_argument("--compile", action="store_true")
    e = sub.add_parser("embed")
    e.add_argument("--images", required=True)
    e.add_argument("--count", type=int, default=32)
    e.add_argument("--batch", type=int, default=8)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    result = train_step(args) if args.mode == "train-step" else embed(args)
    if args.label:
        result["impl"] = args.label
    # Peak RSS of this process, and of its largest DataLoader worker (ru_maxrss: KiB on Linux).
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if children:
        result["peak_rss_worker_mb"] = children
    print(json.dumps(result))


if __name__ == "__main__":
    main()
