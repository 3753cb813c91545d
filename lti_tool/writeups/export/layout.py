"""The house style both writers share: colours and how a table's width is shared out."""
from __future__ import annotations

INK = (33, 37, 41)
MUTED = (95, 102, 112)
ACCENT = (22, 58, 100)
RULE = (200, 206, 214)
HEAD_FILL = (22, 58, 100)
LABEL_FILL = (237, 241, 246)
ZEBRA = (247, 249, 251)
GUIDE_FILL = (243, 246, 250)


def column_widths(columns: list[str], rows: list[list[str]], total: float, measure,
                  *, pad: float, cap: float) -> list[float]:
    """Widths that add up to total, shared by how much text each column holds; a column is
    never narrower than its longest word (up to cap), so that headers like "Likelihood" fit."""
    n = len(columns)
    weights, floors = [], []
    for j in range(n):
        texts = [columns[j]] + [r[j] for r in rows]
        avg = sum(len(x) for x in texts) / len(texts)
        weights.append(max(4.0, min(avg, 400.0)) ** 0.6)
        longest = 0.0
        for x in texts[:60]:
            for word in x.split()[:80]:
                longest = max(longest, measure(word))
        floors.append(min(longest + pad, total / n * 1.4, cap))
    share = [w / sum(weights) * total for w in weights]
    # Raise narrow columns to their floor, taking the space from the others in proportion.
    for _ in range(n):
        short = [j for j in range(n) if share[j] < floors[j] - 1e-6]
        if not short:
            break
        extra = sum(floors[j] - share[j] for j in short)
        for j in short:
            share[j] = floors[j]
        others = [j for j in range(n) if share[j] > floors[j]]
        pool = sum(share[j] - floors[j] for j in others)
        if pool <= 0:
            break
        for j in others:
            share[j] -= min(1.0, extra / pool) * (share[j] - floors[j])
    scale = total / sum(share)
    return [w * scale for w in share]
