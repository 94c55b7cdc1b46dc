"""An exported blockspin model (`blockspin export`) loaded by Python's torch.jit.load (Debian python3-torch) gives the
outputs and link gradients of the C++ model stored in its reference file, on three calls (1e-12 relative, double);
an exported flow (task "flow") gives the fine fields and log q of the C++ flow for the stored coarse fields and noise.

Usage: python3 tests/python/check_export.py EXPORT_DIR
"""
import json
import os
import sys

import h5py
import numpy as np
import torch

# Gradients of complex computations through an optimised TorchScript graph are wrong from the second call on
# (LibTorch 1.13 and 2.x): users switch the optimiser off, and so does this check.
torch._C._set_graph_executor_optimize(False)


def complex_dataset(ds):
    a = ds[()]
    if a.dtype.names:  # blockspin stores complex numbers as the compound {r, i}
        a = a["r"] + 1j * a["i"]
    return torch.from_numpy(np.ascontiguousarray(a))


def rel(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-300)).item()


def check_flow(export_dir, entry):
    model = torch.jit.load(os.path.join(export_dir, entry["file"]))
    model.eval()
    meta = json.loads(model.blockspin_metadata)
    assert meta["task"] == "flow", meta
    with h5py.File(os.path.join(export_dir, entry["reference"]), "r") as h:
        coarse = torch.from_numpy(h["coarse"][()])
        noise = [torch.from_numpy(h[f"noise{k}"][()]) for k in range(meta["levels"])]
        fields = torch.from_numpy(h["fields"][()])
        log_q = torch.from_numpy(h["log_q"][()])
    scale = max(1.0, log_q.abs().max().item())
    for call in range(3):
        with torch.no_grad():
            f, lq = model(coarse, noise)
        df, dl = (f - fields).abs().max().item(), (lq - log_q).abs().max().item() / scale
        print(f"{entry['file']} call {call + 1}: fields {df:.2e}, log q {dl:.2e} (relative)")
        if not (df < 1e-12 and dl < 1e-12):
            print("FAIL: the exported flow disagrees with the C++ flow", file=sys.stderr)
            return 1
    with torch.no_grad():
        f, lq = model.sample(coarse[:2])
    if list(f.shape) != [2] + list(model.fine_shape) or not torch.isfinite(lq).all():
        print("FAIL: sample() gave", f.shape, lq, file=sys.stderr)
        return 1
    try:
        model(coarse[..., :1], noise)
    except Exception:
        pass
    else:
        print("FAIL: a wrong coarse shape was accepted", file=sys.stderr)
        return 1
    return 0


def main(export_dir):
    with open(os.path.join(export_dir, "export.json")) as f:
        manifest = json.load(f)
    if manifest["task"] == "flow":
        for entry in manifest["files"]:
            if check_flow(export_dir, entry):
                return 1
        print("ok")
        return 0
    for entry in manifest["files"]:
        model = torch.jit.load(os.path.join(export_dir, entry["file"]))
        model.eval()
        meta = json.loads(model.blockspin_metadata)
        assert meta["task"] == manifest["task"], meta
        with h5py.File(os.path.join(export_dir, entry["reference"]), "r") as h:
            U = complex_dataset(h["links"])
            outputs = torch.from_numpy(h["outputs"][()])
            gradient = complex_dataset(h["link_gradient"])
        for call in range(3):
            x = U.clone().requires_grad_(True)
            y = model(x)
            (g,) = torch.autograd.grad(y.sum(), x)
            dv, dg = rel(y.detach(), outputs), rel(g, gradient)
            print(f"{entry['file']} call {call + 1}: outputs {dv:.2e}, link gradient {dg:.2e}")
            if not (dv < 1e-12 and dg < 1e-12):
                print("FAIL: the exported model disagrees with the C++ model", file=sys.stderr)
                return 1
        # another batch size works, another lattice shape is refused
        model(U[:1])
        try:
            model(U[..., :1, :, :, :])
        except Exception:
            pass
        else:
            print("FAIL: a wrong input shape was accepted", file=sys.stderr)
            return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
