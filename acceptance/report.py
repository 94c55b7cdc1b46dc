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
    run_gnuplot(["set terminal pngcairo size 800,520", f"set output '{path}'"] + settings +
                ["plot " + ", ".join(plots)])


def gnuplot_panels(path, settings, panels, width=1100, height=480):
    """Side-by-side panels in one PNG: `panels` is a list of (panel settings, plot clauses); panels without plot
    clauses are left out. A missing gnuplot is reported, not fatal."""
    panels = [(extra, plots) for extra, plots in panels if plots]
    if not panels:
        return
    script = [f"set terminal pngcairo size {width},{height}", f"set output '{path}'",
              f"set multiplot layout 1,{len(panels)}"] + settings
    for extra, plots in panels:
        script += extra + ["plot " + ", ".join(plots)]
    script.append("unset multiplot")
    run_gnuplot(script)


def run_gnuplot(script):
    """Runs the gnuplot commands `script`; a missing or failing gnuplot is reported, not fatal."""
    try:
        subprocess.run(["gnuplot", "-e", "; ".join(script)], check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"no plot ({e})", file=sys.stderr)
