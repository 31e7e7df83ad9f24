"""Start-up time of ``shenbao --help`` and ``shenbao validate`` against the same commands with every module of the
toolkit imported first, as the command did before each command imported only what it needs.

Both sides run the same command in a fresh Python process and print the same output (checked equal); the two
sides alternate, seven times each, and the median wall time is printed with the ratio.
Run: ``.venv/bin/python bench/startup.py``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EAGER = ("import toolkit.batching, toolkit.convert, toolkit.decision, toolkit.extraction, toolkit.rendering, "
         "toolkit.sheets, toolkit.sinks, toolkit.template_check, toolkit.values, cn2an; ")
COMMANDS = {
    "--help": ["--help"],
    "validate": ["validate", "tj-high-tech-enterprise-application",
                 str(ROOT / "samples" / "tj-high-tech-enterprise-application.json")],
}


def run(prefix: str, args: list[str]) -> tuple[float, str]:
    code = f"{prefix}import sys; from toolkit.cli import main; main(sys.argv[1:])"
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT)
    return time.perf_counter() - started, done.stdout


def main() -> None:
    for name, args in COMMANDS.items():
        lazy, eager = [], []
        for _ in range(7):
            seconds, eager_out = run(EAGER, args)
            eager.append(seconds)
            seconds, lazy_out = run("", args)
            lazy.append(seconds)
            assert lazy_out == eager_out, "both sides must print the same"
        before, after = statistics.median(eager), statistics.median(lazy)
        print(f"shenbao {name}: {after * 1000:.0f} ms, every module imported first: {before * 1000:.0f} ms "
              f"(ratio {before / after:.2f})")


if __name__ == "__main__":
    main()
