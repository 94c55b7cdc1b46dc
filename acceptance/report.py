"""What the acceptance summaries share: a markdown table written and printed, a gnuplot PNG."""
import subprocess
import sys


def write_table(path, lines):
    """Writes the lines (markdown) to path and prints them."""
    text = "\n".join(lines) + "\n"
    with open(path, "w") as f:
        f.write(text)
    print(text, end="")


def gnuplot_png(path, settings, plots):
    """Draws `plots` (gnuplot plot clauses) after `settings` into the PNG `path`; a missing gnuplot is reported, not
    fatal (the tables are the result)."""
    if not plots:
        return
    script = "; ".join(["set terminal pngcairo size 800,520", f"set output '{path}'"] + settings +
                       ["plot " + ", ".join(plots)])
    try:
        subprocess.run(["gnuplot", "-e", script], check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"no plot ({e})", file=sys.stderr)
