"""Where the time goes in a profile written by `python -m bench.run --profile DIR`:

    python -m bench.profiles DIR/reads.txt --within get_leaderboard [--top 30]

A profile is py-spy's collapsed stacks (one line per distinct stack: frames joined by ';', then the
number of samples); idle threads are not sampled, so the samples are time on a CPU. Prints, for the
samples whose stack passes through `--within` (all samples without it), the share of those samples
spent in each function and below it (inclusive), the largest first.
"""
from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_LINE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")
_FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def frame_name(frame: str) -> str:
    """`leaderboard_body (scoring/standings/operations.py:187)` -> `leaderboard_body (standings/operations.py)`."""
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    parts = Path(match["file"]).parts
    short = "/".join(parts[-2:]) if len(parts) > 1 else match["file"]
    return f"{match['name']} ({short})"


def _function(name: str) -> str:
    return name.split(" (", 1)[0]


def inclusive(path: Path, within: str | None = None) -> tuple[int, Counter]:
    """(samples, samples per function counting each function once per stack)."""
    total, shares = 0, Counter()
    for line in path.read_text(errors="replace").splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        frames = [frame_name(f) for f in match["stack"].split(";")]
        if within is not None:
            start = next((i for i, f in enumerate(frames) if _function(f) in (within, within.rsplit(".", 1)[-1])
                          or _function(f).endswith("." + within)), None)
            if start is None:
                continue
            frames = frames[start:]
        count = int(match["count"])
        total += count
        for name in set(frames):
            shares[name] += count
    return total, shares


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--within", help="Only the samples under this function (e.g. get_leaderboard).")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    total, shares = inclusive(args.profile, args.within)
    print(f"{total} samples" + (f" under {args.within}" if args.within else ""))
    for name, count in shares.most_common(args.top):
        print(f"{100 * count / max(total, 1):5.1f}%  {name}")


if __name__ == "__main__":
    main()
