#!/usr/bin/env python3
"""The scaling test of acceptance/scaling_test.sh as a table and a plot (issue 18; arXiv:2502.03315).

Every ensemble RUNS/{wilson,fp}_L{L}_b{β}/meas/measurements.json gives t0/a² and the dimensionless ratios w0/√t0,
√(t_0.2/t0), √(t_0.15/t0) with Γ-method errors. The comparison is at a fixed box size z = L/√t0 (the same physical
volume): for each learned-action ensemble's z, each action's ratio on each L is interpolated linearly in z between
that action's two ensembles of that L nearest z (extrapolated, and marked so, when they do not bracket z; a lone ensemble only at its own z within errors), and
extrapolated to the continuum linearly in a²/t0 = (z/L)² over the L available. The slope of that line is the action's
O(a²) artefact in units of t0. The learned ensemble is also compared directly with Wilson on the same L at the same z
(the same a²/t0), the error including the Wilson ratio's change over the learned ensemble's z ± δz.
--include FILE adds the ensembles of a recorded scaling.json (an earlier run's, e.g. docs/data/) that RUNS does not
have, marked with their source. Writes RUNS/scaling.json, RUNS/scaling.md and RUNS/scaling.png.
    scaling_summary.py RUNS [--include FILE ...]
"""
import glob
import json
import math
import os
import re
import sys

from report import gnuplot_panels, write_table


def read(runs):
    out = []
    for f in sorted(glob.glob(os.path.join(runs, "*_L*_b*", "meas", "measurements.json"))):
        name = f.split(os.sep)[-3]
        m = re.fullmatch(r"(wilson|fp)_L(\d+)_b([0-9.]+)", name)
        if not m:
            continue
        obs = json.load(open(f))["observables"]
        if "mean" not in obs.get("t0", {}):
            print(f"{name}: no t0 ({obs.get('t0')})", file=sys.stderr)
            continue
        L = int(m.group(2))
        t0, dt0 = obs["t0"]["mean"], obs["t0"]["error"]
        e = {"name": name, "action": m.group(1), "L": L, "beta": float(m.group(3)),
             "plaquette": obs["plaquette"]["mean"], "t0": t0, "t0_error": dt0,
             "z": L / math.sqrt(t0), "z_error": 0.5 * L * dt0 / t0 ** 1.5, "ratios": {}}
        for r in RATIOS:
            if "mean" in obs.get(r, {}):
                e["ratios"][r] = (obs[r]["mean"], obs[r]["error"])
        out.append(e)
    return out


RATIOS = ["w0_over_sqrt_t0", "sqrt_t_0.2_over_t0", "sqrt_t_0.15_over_t0"]
LABELS = {"w0_over_sqrt_t0": "w0/√t0", "sqrt_t_0.2_over_t0": "√(t_0.2/t0)", "sqrt_t_0.15_over_t0": "√(t_0.15/t0)"}


def action_at(ens, action, L, z, ratio):
    """The ratio of `action` on L^4 at z = L/√t0, linear in z between its two ensembles nearest to z (bracketing it
    where possible; errors combined with the interpolation weights); a lone ensemble of that L only where its own z
    is within its error of z; else None."""
    pts = [e for e in ens if e["action"] == action and e["L"] == L and ratio in e["ratios"]]
    if len(pts) == 1 and abs(pts[0]["z"] - z) <= pts[0]["z_error"]:
        v, err = pts[0]["ratios"][ratio]
        return {"L": L, "a2_over_t0": (z / L) ** 2, "ratio": v, "ratio_error": err, "extrapolated": False,
                "from": [pts[0]["name"]]}
    if len(pts) < 2:
        return None
    below = sorted((e for e in pts if e["z"] <= z), key=lambda e: z - e["z"])
    above = sorted((e for e in pts if e["z"] > z), key=lambda e: e["z"] - z)
    if below and above:
        a, b = below[0], above[0]
    else:
        a, b = sorted(pts, key=lambda e: abs(e["z"] - z))[:2]
        if abs(b["z"] - a["z"]) <= math.hypot(a["z_error"], b["z_error"]):
            return None  # two ensembles at one z within errors: no slope in z to extrapolate with
    w = (z - a["z"]) / (b["z"] - a["z"])
    (ya, ea), (yb, eb) = a["ratios"][ratio], b["ratios"][ratio]
    return {"L": L, "a2_over_t0": (z / L) ** 2, "ratio": (1 - w) * ya + w * yb,
            "ratio_error": math.hypot((1 - w) * ea, w * eb), "extrapolated": not (below and above),
            "from": [a["name"], b["name"]]}


def linear_fit(xs, ys, es):
    """Weighted least squares y = c + s x: (c, error of c, s, error of s, χ²)."""
    w = [1 / e ** 2 for e in es]
    S, Sx, Sy = sum(w), sum(wi * x for wi, x in zip(w, xs)), sum(wi * y for wi, y in zip(w, ys))
    Sxx, Sxy = sum(wi * x * x for wi, x in zip(w, xs)), sum(wi * x * y for wi, x, y in zip(w, xs, ys))
    det = S * Sxx - Sx * Sx
    c, s = (Sxx * Sy - Sx * Sxy) / det, (S * Sxy - Sx * Sy) / det
    chi2 = sum(wi * (y - c - s * x) ** 2 for wi, x, y in zip(w, xs, ys))
    return c, math.sqrt(Sxx / det), s, math.sqrt(S / det), chi2


def continuum(points):
    """The line through an action's points at one z (≥ 2 lattice sizes): continuum value, slope, χ²."""
    if len(points) < 2:
        return None
    c, dc, s, ds, chi2 = linear_fit([p["a2_over_t0"] for p in points], [p["ratio"] for p in points],
                                    [p["ratio_error"] for p in points])
    return {"ratio": c, "ratio_error": dc, "slope": s, "slope_error": ds, "chi2": chi2, "dof": len(points) - 2}


def parse_args(argv):
    runs, includes, i = None, [], 0
    while i < len(argv):
        if argv[i] == "--include" and i + 1 < len(argv):
            includes.append(argv[i + 1])
            i += 2
        elif runs is None and not argv[i].startswith("--"):
            runs, i = argv[i], i + 1
        else:
            sys.exit(__doc__.strip().splitlines()[-1].strip() + f"\n(unexpected argument '{argv[i]}')")
    if runs is None:
        sys.exit("usage: " + __doc__.strip().splitlines()[-1].strip())
    return runs, includes


def main():
    runs, includes = parse_args(sys.argv[1:])
    ens = read(runs)
    for path in includes:
        try:
            recorded = json.load(open(path))["ensembles"]
        except (OSError, ValueError, KeyError) as e:
            sys.exit(f"--include '{path}': not a scaling.json ({e})")
        have = {e["name"] for e in ens}
        for e in recorded:
            if e["name"] not in have:
                e["source"] = e.get("source", path)
                ens.append(e)
    rows = []
    for fp in (e for e in ens if e["action"] == "fp"):
        for ratio in RATIOS:
            if ratio not in fp["ratios"]:
                continue
            row = {"fp": fp, "ratio": ratio, "points": {}, "continuum": {}}
            for action in ("wilson", "fp"):
                pts = [p for p in (action_at(ens, action, L, fp["z"], ratio) for L in (4, 6, 8)) if p is not None]
                row["points"][action] = pts
                cont = continuum(pts)
                if cont:
                    row["continuum"][action] = cont
            # The direct comparison: Wilson on the same L at the same z (so the same a²/t0), its error including
            # the uncertainty of the learned ensemble's z (the Wilson ratio's change over z ± δz).
            same = action_at(ens, "wilson", fp["L"], fp["z"], ratio)
            if same:
                up = action_at(ens, "wilson", fp["L"], fp["z"] + fp["z_error"], ratio)
                down = action_at(ens, "wilson", fp["L"], fp["z"] - fp["z_error"], ratio)
                z_err = 0.5 * abs(up["ratio"] - down["ratio"]) if up and down else 0.0
                v, err = fp["ratios"][ratio]
                total = math.sqrt(err ** 2 + same["ratio_error"] ** 2 + z_err ** 2)
                row["same_lattice"] = {"wilson": same["ratio"], "wilson_error": same["ratio_error"],
                                       "wilson_z_error": z_err, "difference": v - same["ratio"],
                                       "difference_error": total, "sigma": (v - same["ratio"]) / total,
                                       "extrapolated": same["extrapolated"]}
            rows.append(row)
    with open(os.path.join(runs, "scaling.json"), "w") as f:
        json.dump({"ensembles": ens, "comparisons": rows}, f, indent=1)

    def fmt(v, e):
        return f"{v:.3f}({1000 * e:.0f})"

    def fmt_line(c):
        return (f"{fmt(c['ratio'], c['ratio_error'])} | {c['slope']:.3f}({1000 * c['slope_error']:.0f}) | "
                f"{c['chi2']:.1f}/{c['dof']}") if c else "— | — | —"

    lines = ["| action | L | β | plaquette | t0/a² | L/√t0 | " + " | ".join(LABELS[r] for r in RATIOS) + " |",
             "|---" * (6 + len(RATIOS)) + "|"]
    for e in sorted(ens, key=lambda e: (e["action"], e["L"], e["beta"])):
        lines.append(f"| {e['action']} | {e['L']} | {e['beta']:g} | {e['plaquette']:.4f} | {fmt(e['t0'], e['t0_error'])} | "
                     f"{e['z']:.2f} | " + " | ".join(fmt(*e["ratios"][r]) if r in e["ratios"] else "—" for r in RATIOS)
                     + " |")
    recorded = sorted({e["source"] for e in ens if "source" in e})
    for src in recorded:
        lines.append(f"\nfrom `{src}` (recorded, not in {runs}): "
                     + ", ".join(e["name"] for e in ens if e.get("source") == src))
    lines += ["", "| ratio | at L/√t0 (ensemble) | action | 4⁴ | 6⁴ | 8⁴ | continuum | slope in a²/t0 | χ²/dof | "
              "learned − Wilson, same L and z (error incl. δz) |", "|---" * 10 + "|"]
    for r in rows:
        fp = r["fp"]
        v, e = fp["ratios"][r["ratio"]]
        for action in ("fp", "wilson"):
            if not r["points"][action]:
                continue
            pts = {p["L"]: fmt(p["ratio"], p["ratio_error"]) + (" (extrap.)" if p["extrapolated"] else "")
                   for p in r["points"][action]}
            cont = r["continuum"].get(action)
            vs = "—"
            if action == "wilson" and "same_lattice" in r:
                d = r["same_lattice"]
                vs = (f"{fmt(v, e)} − {fmt(d['wilson'], math.hypot(d['wilson_error'], d['wilson_z_error']))}"
                      f"{' (extrap.)' if d['extrapolated'] else ''} = {fmt(d['difference'], d['difference_error'])}, "
                      f"{d['sigma']:+.1f}σ")
            lines.append(f"| {LABELS[r['ratio']]} | {fp['z']:.2f} ({fp['name']}) | {action} | "
                         + " | ".join(pts.get(L, "—") for L in (4, 6, 8)) + f" | {fmt_line(cont)} | {vs} |")
    write_table(os.path.join(runs, "scaling.md"), lines)

    # One panel per precise ratio (w0/√t0 is too noisy to see here), the ratio against a²/t0 at the box of each learned
    # ensemble that gives the learned action a line of its own (≥ 2 lattice sizes; else at every learned box): both
    # actions' points and continuum lines (Wilson dashed).
    dat = os.path.join(runs, "scaling.dat")
    shown = [r for r in rows if len(r["points"]["fp"]) >= 2] or rows
    panels, index = [], 0
    with open(dat, "w") as f:
        for ratio in RATIOS[1:]:
            plots = []
            for i, r in enumerate(r for r in shown if r["ratio"] == ratio):
                for action, pt, name in (("wilson", 7, "Wilson"), ("fp", 5, "learned FP")):
                    if not r["points"][action]:
                        continue
                    for p in r["points"][action]:
                        f.write(f"{p['a2_over_t0']} {p['ratio']} {p['ratio_error']}\n")
                    f.write("\n\n")
                    plots.append(f"'{dat}' index {index} with yerrorbars pt {pt} ps 1.3 lc {i + 1} "
                                 f"title '{name}, L/√t0 = {r['fp']['z']:.2f}'")
                    index += 1
                    cont = r["continuum"].get(action)
                    if cont:
                        plots.append(f"{cont['ratio']} + {cont['slope']} * x with lines dt {2 if action == 'wilson' else 1} "
                                     f"lc {i + 1} notitle")
            title = LABELS[ratio].replace("t_0.", "t_{0.").replace("/t0", "}/t_0")  # gnuplot's enhanced text
            panels.append(([f"set title '{title} at fixed L/√t_0'"], plots))
    gnuplot_panels(os.path.join(runs, "scaling.png"),
                   ["set xlabel 'a^2/t_0'", "set ylabel 'ratio of flow scales'", "set xrange [0:*]", "set grid",
                    "set key bottom right font ',9'"], panels)


if __name__ == "__main__":
    main()
