"""Tables and paired tests over the run directories of scripts/measure_*.sh (standard library only).

A measurement directory holds OUT/<stage>/<config>/<Subject{s}-seed{k}>/results.json. Each run's
`stimulus`-prototype scores become rows keyed by (method label, cell); the confirm stage compares
two labels on each (subject, test item) unit's rank of the true class, averaged over the training
seeds, with a two-sided sign-flip test.
"""
import json
import os
import random


def scores(out, stage, label):
    """(label, cell) -> (top1, top5, mean rank, ranks, best step) for every stimulus-prototype
    score; label(config, method) names the row, or None to leave the score out."""
    rows = {}
    base = os.path.join(out, stage)
    for name in sorted(os.listdir(base)):
        for cell in sorted(os.listdir(os.path.join(base, name))):
            path = os.path.join(base, name, cell, "results.json")
            if not os.path.isfile(path):
                continue
            r = json.load(open(path))
            for m in r["scores"]:
                key = label(name, m["method"]) if m["prototype"] == "stimulus" else None
                if key is None:
                    continue
                best = r.get("best_step") if m["method"] == "brainsem" else None
                rows[(key, cell)] = (m["top1"], m["top5"], m["mean_rank"], m["ranks"], best)
    return rows


def write_and_print(out, stage, rows, width=30):
    """OUT/<stage>.tsv, one line per run, and the mean over cells of each label."""
    with open(os.path.join(out, stage + ".tsv"), "w") as f:
        f.write("method\tcell\ttop1\ttop5\tmean_rank\tbest_step\n")
        for (method, cell), (t1, t5, mr, _, best) in sorted(rows.items()):
            f.write(f"{method}\t{cell}\t{100*t1:.1f}\t{100*t5:.1f}\t{mr:.2f}\t{best}\n")
    print(f"== {stage} ({out}/{stage}.tsv): mean over cells, stimulus prototypes")
    for m in sorted({m for m, _ in rows}):
        cells = [v for (mm, _), v in rows.items() if mm == m]
        n = len(cells)
        steps = sorted(c[4] for c in cells) if cells[0][4] is not None else "-"
        print(f"{m:{width}s} cells {n:2d}  top-1 {100*sum(c[0] for c in cells)/n:5.1f}  "
              f"top-5 {100*sum(c[1] for c in cells)/n:5.1f}  mean rank {sum(c[2] for c in cells)/n:6.2f}  "
              f"chosen steps {steps}")


def unit_ranks(rows, method):
    """(subject, item) -> rank averaged over the training seeds. The ridge depends on the seed too
    (it seeds the class-grouped folds that choose alpha), so it is averaged like the others."""
    by = {}
    for (m, cell), v in rows.items():
        if m != method:
            continue
        subject = cell.split("-seed")[0]
        for i, k in enumerate(v[3]):
            by.setdefault((subject, i), []).append(k)
    return {u: sum(ks) / len(ks) for u, ks in by.items()}


def sign_flip(a, b, flips=20000, seed=0):
    """Mean of a - b over the units, two-sided sign-flip p-value, number of units."""
    d = [a[u] - b[u] for u in sorted(a)]
    obs = abs(sum(d))
    rng = random.Random(seed)
    hits = sum(abs(sum(x if rng.random() < 0.5 else -x for x in d)) >= obs - 1e-12 for _ in range(flips))
    return sum(d) / len(d), (1 + hits) / (1 + flips), len(d)


def print_comparisons(rows, pairs, width=58, flips=20000):
    for a, b in pairs:
        diff, p, n = sign_flip(unit_ranks(rows, a), unit_ranks(rows, b), flips)
        shown = f"p = {p:.4f}" if p >= 1e-4 else f"p < 1e-4 (the smallest {flips} flips can show is {1 / (flips + 1):.0e})"
        print(f"{a + ' - ' + b:{width}s} mean rank difference {diff:+.3f} over {n} units, {shown}")
