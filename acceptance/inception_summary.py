#!/usr/bin/env python3
"""The inception chain of acceptance/inception_iteration.sh as one table (issue 18; arXiv:2502.03315).

Reads RUNS/d{k}/summary.json (previous_iteration: A_FP per site before and after step k, per β_wil) and the evaluate
metrics of the models (RUNS/m{k}_on_d{k}: M_k on D_k's test split; RUNS/m{k-1}_on_d{k}: M_{k-1} on all of D_k), and
writes RUNS/summary.json, RUNS/summary.md and RUNS/inception.png (A_FP per site against the iteration, per β_wil).
    inception_summary.py RUNS ITERATIONS
"""
import json
import os
import sys

from report import gnuplot_png, write_table


def load(path):
    with open(path) as f:
        return json.load(f)


def model_errors(path):
    """{β_wil: relative action error} and the overall one, or None when the evaluation is missing."""
    f = os.path.join(path, "metrics.json")
    if not os.path.exists(f):
        return None
    m = load(f)["model"]
    return {"overall": m["relative_action_error"], "L2": m["L2"],
            "per_beta": {b: v["relative_action_error"] for b, v in m["per_beta"].items()}}


def main():
    runs, iterations = sys.argv[1], int(sys.argv[2])
    steps, action = [], {}  # action[β][k] = A_FP per site of D_k
    for k in range(1, iterations + 1):
        s = os.path.join(runs, f"d{k}", "summary.json")
        if not os.path.exists(s):
            break
        prev = load(s)["previous_iteration"][0]
        step = {"k": k, "per_beta": {}}
        for p in prev["per_beta"]:
            b = f"{p['beta_wil']:g}"
            action.setdefault(b, {})[k - 1] = p["action_per_site_before"]
            action[b][k] = p["action_per_site_after"]
            step["per_beta"][b] = {key: p[key] for key in (
                "n", "relative_change", "relative_change_error", "max_abs_relative_change",
                "derivative_relative_change")}
        step["model_before_on_new"] = model_errors(os.path.join(runs, f"m{k - 1}_on_d{k}"))
        step["model_after_on_new"] = model_errors(os.path.join(runs, f"m{k}_on_d{k}"))
        steps.append(step)
    out = {"m0_on_d0": model_errors(os.path.join(runs, "m0_on_d0")), "steps": steps, "action_per_site": action}
    with open(os.path.join(runs, "summary.json"), "w") as f:
        json.dump(out, f, indent=1)

    betas = sorted(action, key=float)
    n = len(steps)
    lines = ["| β_wil | " + " | ".join(f"A_FP/site D{k}" for k in range(n + 1)) + " | " +
             " | ".join(f"ΔA/A step {s['k']}" for s in steps) + " | " +
             " | ".join(f"‖ΔD‖/‖D‖ step {s['k']}" for s in steps) + " |",
             "|---" * (1 + (n + 1) + 2 * n) + "|"]
    for b in betas:
        row = [b] + [f"{action[b].get(k, float('nan')):.4f}" for k in range(n + 1)]
        row += [f"{100 * s['per_beta'][b]['relative_change']:+.2f} ± {100 * s['per_beta'][b]['relative_change_error']:.2f} %"
                for s in steps]
        row += [f"{100 * s['per_beta'][b]['derivative_relative_change']:.1f} %" for s in steps]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "| model | data | relative action error | L2 |", "|---|---|---|---|"]

    def err_line(name, data, e):
        if e is not None:
            lines.append(f"| {name} | {data} | {100 * e['overall']:.2f} % | {e['L2']:.3e} |")

    err_line("M0", "D0 test split", out["m0_on_d0"])
    for s in steps:
        err_line(f"M{s['k'] - 1}", f"D{s['k']} all rows", s["model_before_on_new"])
        err_line(f"M{s['k']}", f"D{s['k']} test split", s["model_after_on_new"])
    write_table(os.path.join(runs, "summary.md"), lines)

    # A_FP per site relative to iteration 0, per β_wil, against the iteration.
    dat = os.path.join(runs, "inception.dat")
    with open(dat, "w") as f:
        for b in betas:
            for k in sorted(action[b]):
                f.write(f"{k} {action[b][k] / action[b][0]:.8f}\n")
            f.write("\n\n")
    gnuplot_png(os.path.join(runs, "inception.png"),
                ["set xlabel 'iteration k (M_{k-1} on the right-hand side)'",
                 "set ylabel 'A_{FP} / A_{FP}(Wilson RHS)'", "set xtics 1", "set key outside right", "set grid"],
                [f"'{dat}' index {i} with linespoints title 'β_{{wil}} = {b}'" for i, b in enumerate(betas)])


if __name__ == "__main__":
    main()
