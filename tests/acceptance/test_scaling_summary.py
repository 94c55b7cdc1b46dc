"""acceptance/scaling_summary.py on synthetic ensembles whose ratios lie exactly on known lines.

Each action's ratio is R(z, a²/t0) = c(z) + s·a²/t0 with c linear in z, so the summary's interpolation in z (linear,
with a known overshoot from a²/t0 = (z/L)²) and its continuum fit (linear in a²/t0) have exact expected values; a lone
ensemble counts only at its own z;
--include adds recorded ensembles that RUNS lacks and does not replace those it has.
Usage: python3 tests/acceptance/test_scaling_summary.py [SOURCE_DIR]
"""
import json
import math
import os
import subprocess
import sys
import tempfile
import unittest

SOURCE = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../.."))
SCRIPT = os.path.join(SOURCE, "acceptance", "scaling_summary.py")
SLOPE = {"wilson": 0.09, "fp": 0.02}


def exact_ratio(action, z, a2_t0):
    return 0.6 + 0.03 * (z - 5.0) + SLOPE[action] * a2_t0


def write_ensemble(runs, action, L, beta, z, dz=0.1):
    t0 = (L / z) ** 2
    dt0 = 2 * t0 * dz / z  # so that z_error = dz
    a2 = 1 / t0
    obs = {"t0": {"mean": t0, "error": dt0}, "plaquette": {"mean": 0.5, "error": 0.001}}
    for name in ("w0_over_sqrt_t0", "sqrt_t_0.2_over_t0", "sqrt_t_0.15_over_t0"):
        obs[name] = {"mean": exact_ratio(action, z, a2), "error": 0.01}
    d = os.path.join(runs, f"{action}_L{L}_b{beta}", "meas")
    os.makedirs(d)
    with open(os.path.join(d, "measurements.json"), "w") as f:
        json.dump({"observables": obs}, f)


def summarise(runs, *extra):
    subprocess.run([sys.executable, SCRIPT, runs, *extra], check=True, capture_output=True)
    with open(os.path.join(runs, "scaling.json")) as f:
        return json.load(f)


class ScalingSummary(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.runs = os.path.join(self.tmp.name, "runs")
        os.makedirs(self.runs)
        # Wilson: two ensembles per L bracketing z = 5.1 asymmetrically; learned: a lone 4^4 at 5.1, a 6^4 pair bracketing it.
        for L, betas in ((4, (5.45, 5.55)), (6, (5.7, 5.74)), (8, (5.82, 5.88))):
            write_ensemble(self.runs, "wilson", L, betas[0], 5.5)
            write_ensemble(self.runs, "wilson", L, betas[1], 4.8)
        write_ensemble(self.runs, "fp", 4, 2.9, 5.1)
        write_ensemble(self.runs, "fp", 6, 3.15, 5.3)
        write_ensemble(self.runs, "fp", 6, 3.2, 4.9)

    def tearDown(self):
        self.tmp.cleanup()

    def test_lines_come_back_exactly(self):
        out = summarise(self.runs)
        rows = [r for r in out["comparisons"] if r["fp"]["name"] == "fp_L4_b2.9" and r["ratio"] == "sqrt_t_0.15_over_t0"]
        self.assertEqual(len(rows), 1)
        r = rows[0]
        z = 5.1
        self.assertEqual([p["L"] for p in r["points"]["wilson"]], [4, 6, 8])
        self.assertEqual([p["L"] for p in r["points"]["fp"]], [4, 6])
        self.assertFalse(any(p["extrapolated"] for p in r["points"]["fp"] + r["points"]["wilson"]))
        # Linear interpolation in z between z1 and z2 of the exact ratio, whose a²/t0 = (z/L)² is quadratic in z,
        # overshoots by s (z − z1)(z2 − z)/L²: Wilson brackets (4.8, 5.5) on every L, so its points lie on the line
        # c + s (1 + δ/z²) x with δ = 0.3 · 0.4; the learned 4^4 is exact (a lone ensemble at z), its 6^4 (4.9, 5.3) has δ = 0.04.
        w = r["continuum"]["wilson"]
        self.assertAlmostEqual(w["ratio"], exact_ratio("wilson", z, 0.0), places=12)
        self.assertAlmostEqual(w["slope"], SLOPE["wilson"] * (1 + 0.12 / z ** 2), places=12)
        self.assertAlmostEqual(w["chi2"], 0.0, places=18)
        x4, x6 = (z / 4) ** 2, (z / 6) ** 2
        y4, y6 = exact_ratio("fp", z, x4), exact_ratio("fp", z, x6) + SLOPE["fp"] * 0.04 / 36
        f = r["continuum"]["fp"]
        self.assertAlmostEqual(f["slope"], (y4 - y6) / (x4 - x6), places=12)
        self.assertAlmostEqual(f["ratio"], y4 - f["slope"] * x4, places=12)
        self.assertAlmostEqual(f["slope"], SLOPE["fp"], places=3)
        # The direct comparison on the same L and z, and the Wilson ratio's change over z ± δz (δz = 0.1) within the
        # bracket, where the interpolation is the straight line through the two Wilson 4^4 ensembles.
        d = r["same_lattice"]
        wilson4 = exact_ratio("wilson", z, x4) + SLOPE["wilson"] * 0.12 / 16
        self.assertAlmostEqual(d["difference"], y4 - wilson4, places=12)
        chord = (exact_ratio("wilson", 5.5, (5.5 / 4) ** 2) - exact_ratio("wilson", 4.8, (4.8 / 4) ** 2)) / 0.7
        self.assertAlmostEqual(d["wilson_z_error"], 0.1 * chord, places=12)

    def test_a_lone_ensemble_counts_only_at_its_own_z(self):
        out = summarise(self.runs)
        # At the 6^4 β 3.15 ensemble's z = 5.3 the lone learned 4^4 (z = 5.1 ± 0.1) is 2σ away: not used.
        r = next(r for r in out["comparisons"] if r["fp"]["name"] == "fp_L6_b3.15" and r["ratio"] == "w0_over_sqrt_t0")
        self.assertEqual([p["L"] for p in r["points"]["fp"]], [6])
        self.assertNotIn("fp", r["continuum"])

    def test_include_adds_missing_ensembles_only(self):
        summarise(self.runs)
        recorded = os.path.join(self.tmp.name, "recorded.json")
        os.replace(os.path.join(self.runs, "scaling.json"), recorded)
        other = os.path.join(self.tmp.name, "other")
        os.makedirs(other)
        write_ensemble(other, "fp", 4, 2.9, 5.0)  # a new measurement of one recorded ensemble
        out = summarise(other, "--include", recorded)
        names = sorted(e["name"] for e in out["ensembles"])
        self.assertEqual(len(names), 9)
        fp4 = next(e for e in out["ensembles"] if e["name"] == "fp_L4_b2.9")
        self.assertAlmostEqual(fp4["z"], 5.0, places=12)  # RUNS' own, not the recorded one
        self.assertNotIn("source", fp4)
        self.assertTrue(all(e.get("source") == recorded for e in out["ensembles"] if e["name"] != "fp_L4_b2.9"))
        with open(os.path.join(other, "scaling.md")) as f:
            self.assertIn("recorded", f.read())

    def test_a_bad_include_is_one_line(self):
        bad = os.path.join(self.tmp.name, "bad.json")
        with open(bad, "w") as f:
            f.write("{}")
        p = subprocess.run([sys.executable, SCRIPT, self.runs, "--include", bad], capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("bad.json", p.stderr)


if __name__ == "__main__":
    unittest.main()
