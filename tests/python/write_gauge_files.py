#!/usr/bin/python3
"""An independent minimal writer of ILDG (LIME) and openQCD gauge files for tests/io/test_gauge_formats.cpp: the
readers of io/ are checked against files this script writes from the format descriptions alone (struct + numpy +
zlib, no blockspin code).

    write_gauge_files.py OUTDIR LX LY LZ LT SEED

writes OUTDIR/links.f64 (the links in blockspin's layout [4 (mu = x, y, z, t), x, y, z, t, 3, 3] as little-endian
(re, im) float64 pairs), OUTDIR/conf.ildg (64-bit, with scidac-checksum and an lfn record, in a SciDAC-like two-message
layout) and OUTDIR/conf.cnfg (openQCD export_cnfg layout).
"""
import os
import struct
import sys
import zlib

import numpy as np


def random_su3(rng, shape):
    z = rng.normal(size=shape + (3, 3)) + 1j * rng.normal(size=shape + (3, 3))
    q, r = np.linalg.qr(z)
    d = np.diagonal(r, axis1=-2, axis2=-1)
    q = q * (d / np.abs(d))[..., None, :]
    det = np.linalg.det(q)
    return q / det[..., None, None] ** (1.0 / 3.0)


def lime_record(rtype, data, mb, me):
    flags = (0x8000 if mb else 0) | (0x4000 if me else 0)
    head = struct.pack(">IHHQ", 0x456789AB, 1, flags, len(data)) + rtype.encode().ljust(128, b"\0")
    return head + data + b"\0" * ((-len(data)) % 8)


def rotl(v, s):
    s %= 32
    return ((v << s) | (v >> (32 - s))) & 0xFFFFFFFF if s else v


def write_ildg(path, U):
    lx, ly, lz, lt = U.shape[1:5]
    site_major = np.ascontiguousarray(U.transpose(4, 3, 2, 1, 0, 5, 6))  # [t, z, y, x, mu, 3, 3]
    host = site_major.astype("<c16").tobytes()  # little-endian: what the SciDAC checksum is taken over
    site = 4 * 9 * 16
    suma = sumb = 0
    for r in range(lx * ly * lz * lt):
        c = zlib.crc32(host[r * site:(r + 1) * site]) & 0xFFFFFFFF
        suma ^= rotl(c, r % 29)
        sumb ^= rotl(c, r % 31)
    big = site_major.astype(">c16").tobytes()
    fmt = (f"<?xml version='1.0'?><ildgFormat><version>1.0</version><field>su3gauge</field>"
           f"<precision>64</precision><lx>{lx}</lx><ly>{ly}</ly><lz>{lz}</lz><lt>{lt}</lt></ildgFormat>")
    cks = f"<?xml version='1.0'?><scidacChecksum><version>1.0</version><suma>{suma:x}</suma><sumb>{sumb:x}</sumb></scidacChecksum>"
    with open(path, "wb") as f:
        f.write(lime_record("scidac-private-file-xml", b"<scidacFile><version>1.1</version></scidacFile>", True, False))
        f.write(lime_record("scidac-file-xml", b"<info>written by write_gauge_files.py</info>", False, True))
        f.write(lime_record("scidac-private-record-xml", b"<scidacRecord></scidacRecord>", True, False))
        f.write(lime_record("ildg-format", fmt.encode(), False, False))
        f.write(lime_record("ildg-binary-data", big, False, False))
        f.write(lime_record("scidac-checksum", cks.encode(), False, False))
        f.write(lime_record("ildg-data-lfn", b"lfn://test/conf", False, True))


def plaquette_re_tr(U):
    """<Re Tr P> over sites and the 6 planes (openQCD's header normalisation)."""
    total = 0.0
    for m in range(4):
        for n in range(m + 1, 4):
            Um, Un = U[m], U[n]
            P = Um @ np.roll(Un, -1, axis=m) @ np.conj(np.swapaxes(np.roll(Um, -1, axis=n), -1, -2)) \
                @ np.conj(np.swapaxes(Un, -1, -2))
            total += np.trace(P, axis1=-2, axis2=-1).real.sum()
    return total / (6 * U[0].shape[0] * U[0].shape[1] * U[0].shape[2] * U[0].shape[3])


def write_openqcd(path, U):
    # openQCD coordinates (x0 = t, x1, x2, x3) and directions (0 = t, 1, 2, 3)
    V = U[[3, 0, 1, 2]].transpose(0, 4, 1, 2, 3, 5, 6)  # [mu_o, N0, N1, N2, N3, 3, 3]
    N = V.shape[1:5]
    out = [struct.pack("<4i", *N), struct.pack("<d", plaquette_re_tr(U))]
    for x0 in range(N[0]):
        for x1 in range(N[1]):
            for x2 in range(N[2]):
                for x3 in range(N[3]):
                    if (x0 + x1 + x2 + x3) % 2 == 0:
                        continue
                    x = [x0, x1, x2, x3]
                    for mu in range(4):
                        y = list(x)
                        y[mu] = (y[mu] - 1) % N[mu]
                        out.append(V[mu][tuple(x)].astype("<c16").tobytes())
                        out.append(V[mu][tuple(y)].astype("<c16").tobytes())
    with open(path, "wb") as f:
        f.write(b"".join(out))


def main():
    out = sys.argv[1]
    lx, ly, lz, lt, seed = (int(a) for a in sys.argv[2:7])
    rng = np.random.default_rng(seed)
    U = random_su3(rng, (4, lx, ly, lz, lt))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "links.f64"), "wb") as f:
        f.write(U.astype("<c16").tobytes())
    write_ildg(os.path.join(out, "conf.ildg"), U)
    write_openqcd(os.path.join(out, "conf.cnfg"), U)


if __name__ == "__main__":
    main()
