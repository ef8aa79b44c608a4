"""How often two practice papers repeat: the mean number of items two papers share.

Draws 1000 pairs of different seeds for each paper and prints the mean, the largest and the
distribution of the number of shared items (the issue asks for at most 2 on average for
the 8-item round-2 paper; tests/test_exam.py checks it).

    .venv/bin/python benchmarks/exam_overlap.py
"""

from __future__ import annotations

import random
from collections import Counter

from vae_course.drills.catalogue.ch09_olympiad import ITEMS, POOLS
from vae_course.drills.exam import PAPERS, draw_items


def overlaps(paper_name: str, pairs: int = 1000, seed: int = 0) -> list[int]:
    """Shared items of ``pairs`` pairs of papers with different seeds."""
    paper = PAPERS[paper_name]
    rng = random.Random(seed)
    found = []
    for _ in range(pairs):
        a, b = rng.sample(range(10**6), 2)
        found.append(
            len(
                {i.drill_id for i in draw_items(paper, a)}
                & {i.drill_id for i in draw_items(paper, b)}
            )
        )
    return found


def main() -> None:
    print(f"pool: {len(ITEMS)} items, " + ", ".join(f"{k} {len(v)}" for k, v in POOLS.items()))
    for name, paper in PAPERS.items():
        shared = overlaps(name)
        size = sum(count for _, count in paper.counts)
        histogram = ", ".join(f"{k}: {v}" for k, v in sorted(Counter(shared).items()))
        print(
            f"{name} ({size} items): mean shared items {sum(shared) / len(shared):.3f}, "
            f"max {max(shared)} (counts {histogram})"
        )


if __name__ == "__main__":
    main()
