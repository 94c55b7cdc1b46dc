#!/usr/bin/env python3
"""The scaling test of acceptance/scaling_test.sh as a table and a plot (issue 18; arXiv:2502.03315).

Every ensemble RUNS/{wilson,fp}_L{L}_b{β}/meas/measurements.json gives t0/a² and the dimensionless ratios w0/√t0,
√(t_0.2/t0), √(t_0.15/t0) with Γ-method errors. The comparison is at a fixed box size z = L/√t0 (the same physical
volume): for each learned-action ensemble, each Wilson ratio is interpolated linearly in z between the two Wilson
ensembles of each L (extrapolated, and marked so, when they do not bracket z), and extrapolated to the continuum
linearly in a²/t0 = (z/L)² over L = 4, 6, 8. The artefact of an action at that spacing is its distance from this
continuum value. Writes RUNS/scaling.json, RUNS/scaling.md and RUNS/scaling.png.
    scaling_summary.py RUNS
"""
import glob
import json
import math
import os
import re
import sys

from report import gnuplot_png, write_table


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


def wilson_at(ens, L, z, ratio):
    """A Wilson ratio on L^4 at z = L/√t0, linear in z between the two ensembles nearest to z (bracketing it where
    possible; errors combined with the interpolation weights), or None."""
    pts = [e for e in ens if e["action"] == "wilson" and e["L"] == L and ratio in e["ratios"]]
    if len(pts) < 2:
        return None
    below = sorted((e for e in pts if e["z"] <= z), key=lambda e: z - e["z"])
    above = sorted((e for e in pts if e["z"] > z), key=lambda e: e["z"] - z)
    if below and above:
        a, b = below[0], above[0]
    else:
        a, b = sorted(pts, key=lambda e: abs(e["z"] - z))[:2]
    w = (z - a["z"]) / (b["z"] - a["z"])
    (ya, ea), (yb, eb) = a["ratios"][ratio], b["ratios"][ratio]
    return {"L": L, "a2_over_t0": (z / L) ** 2, "ratio": (1 - w) * ya + w * yb,
            "ratio_error": math.hypot((1 - w) * ea, w * eb), "extrapolated": not (below and above)}


def linear_fit(xs, ys, es):
    """Weighted least squares y = c + s x: (c, error of c, s, χ²)."""
    w = [1 / e ** 2 for e in es]
    S, Sx, Sy = sum(w), sum(wi * x for wi, x in zip(w, xs)), sum(wi * y for wi, y in zip(w, ys))
    Sxx, Sxy = sum(wi * x * x for wi, x in zip(w, xs)), sum(wi * x * y for wi, x, y in zip(w, xs, ys))
    det = S * Sxx - Sx * Sx
    c, s = (Sxx * Sy - Sx * Sxy) / det, (S * Sxy - Sx * Sy) / det
    chi2 = sum(wi * (y - c - s * x) ** 2 for wi, x, y in zip(w, xs, ys))
    return c, math.sqrt(Sxx / det), s, chi2


def main():
    runs = sys.argv[1]
    ens = read(runs)
    rows = []
    for fp in (e for e in ens if e["action"] == "fp"):
        for ratio in RATIOS:
            if ratio not in fp["ratios"]:
                continue
            wil = [p for p in (wilson_at(ens, L, fp["z"], ratio) for L in (4, 6, 8)) if p is not None]
            row = {"fp": fp, "ratio": ratio, "wilson": wil}
            if len(wil) >= 2:
                c, dc, s, chi2 = linear_fit([p["a2_over_t0"] for p in wil], [p["ratio"] for p in wil],
                                            [p["ratio_error"] for p in wil])
                row["continuum"] = {"ratio": c, "ratio_error": dc, "slope": s, "chi2": chi2, "dof": len(wil) - 2}
            rows.append(row)
    with open(os.path.join(runs, "scaling.json"), "w") as f:
        json.dump({"ensembles": ens, "comparisons": rows}, f, indent=1)

    def fmt(v, e):
        return f"{v:.3f}({1000 * e:.0f})"

    lines = ["| action | L | β | plaquette | t0/a² | L/√t0 | " + " | ".join(LABELS[r] for r in RATIOS) + " |",
             "|---" * (6 + len(RATIOS)) + "|"]
    for e in sorted(ens, key=lambda e: (e["action"], e["L"], e["beta"])):
        lines.append(f"| {e['action']} | {e['L']} | {e['beta']:g} | {e['plaquette']:.4f} | {fmt(e['t0'], e['t0_error'])} | "
                     f"{e['z']:.2f} | " + " | ".join(fmt(*e["ratios"][r]) if r in e["ratios"] else "—" for r in RATIOS)
                     + " |")
    lines += ["", "| ratio | learned FP on | at L/√t0 | a²/t0 | learned FP | Wilson 4⁴ | Wilson 6⁴ | Wilson 8⁴ | "
              "continuum (Wilson) |", "|---" * 9 + "|"]
    for r in rows:
        fp = r["fp"]
        wil = {p["L"]: fmt(p["ratio"], p["ratio_error"]) + (" (extrap.)" if p["extrapolated"] else "")
               for p in r["wilson"]}
        cont = r.get("continuum")
        lines.append(f"| {LABELS[r['ratio']]} | {fp['L']}⁴, β {fp['beta']:g} | {fp['z']:.2f} | {1 / fp['t0']:.2f} | {fmt(*fp['ratios'][r['ratio']])} | "
                     + " | ".join(wil.get(L, "—") for L in (4, 6, 8)) + " | "
                     + (f"{fmt(cont['ratio'], cont['ratio_error'])}, χ²/dof {cont['chi2']:.1f}/{cont['dof']}"
                        if cont else "—") + " |")
    write_table(os.path.join(runs, "scaling.md"), lines)

    # The ratios against a²/t0: the Wilson points at each learned ensemble's box, their continuum line, the learned point.
    dat = os.path.join(runs, "scaling.dat")
    with open(dat, "w") as f:
        for r in rows:
            for p in r["wilson"]:
                f.write(f"{p['a2_over_t0']} {p['ratio']} {p['ratio_error']}\n")
            f.write("\n\n")
            v, e = r["fp"]["ratios"][r["ratio"]]
            f.write(f"{1 / r['fp']['t0']} {v} {e}\n\n\n")
    plots = []
    for i, r in enumerate(rows):
        z, label = r["fp"]["z"], LABELS[r["ratio"]]
        plots.append(f"'{dat}' index {2 * i} with yerrorbars pt 7 lc {i + 1} title 'Wilson {label}, L/√t0 = {z:.2f}'")
        plots.append(f"'{dat}' index {2 * i + 1} with yerrorbars pt 5 ps 1.5 lc {i + 1} title 'learned FP {label}, {r['fp']['L']}^4'")
        if "continuum" in r:
            c = r["continuum"]
            plots.append(f"{c['ratio']} + {c['slope']} * x with lines dt 2 lc {i + 1} notitle")
    gnuplot_png(os.path.join(runs, "scaling.png"),
                ["set xlabel 'a^2/t_0'", "set ylabel 'ratio of flow scales'", "set xrange [0:*]", "set grid",
                 "set key top left"], plots)

if __name__ == "__main__":
    main()
