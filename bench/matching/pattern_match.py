#!/usr/bin/python3
"""AutoCNet's sub-pixel `pattern_match`, re-implemented from its description, in native OpenCV, for the benchmark.

Usage: /usr/bin/python3 bench/matching/pattern_match.py DIR
DIR holds meta.json and chips.f32 written by bench/matching/main.ts (float32 little-endian, for every pair the
reference chip then the moving chip, row-major). Prints one JSON object on stdout: for each variant, the registered
position in the moving chip of every pair and the time per point in ms.

The method (AutoCNet matcher/naive_template.py `pattern_match`): upsample the template and the search image by
`upsampling` with a cubic interpolator, `cv2.matchTemplate(..., TM_CCOEFF_NORMED)`, take the integer arg-max of the
correlation map; the offset of the template centre from the search centre, divided by `upsampling`, is the shift.
AutoCNet upsamples with scikit-image `rescale(order=3, mode='edge')` (a cubic spline; scikit-image is not installed
here, scipy's `ndimage.zoom(order=3, grid_mode=True)` is the same operation) — variant `pattern_match_spline`;
the native-OpenCV variant `pattern_match` uses `cv2.resize(INTER_CUBIC)`. Both keep pixel centres aligned the same way
(output pixel i ↔ input (i + 0.5)/k − 0.5), so the centre offset formula is the same.
Variant `pattern_match_prewarp` first resamples the template into the moving chip's geometry with the a-priori affine
(`cv2.warpAffine`, INTER_CUBIC), as our subpixelRegister does, to separate the pre-warp's effect from the method's.

Coordinates: 0-based, pixel centres at integers (src/image/raster.ts). One OpenCV thread.
"""
import json
import sys
import time

import cv2
import numpy as np

cv2.setNumThreads(1)


def upsample_cv(img, k):
    return cv2.resize(img, None, fx=k, fy=k, interpolation=cv2.INTER_CUBIC)


def upsample_spline(img, k):
    from scipy import ndimage

    return ndimage.zoom(img, k, order=3, mode="nearest", grid_mode=True).astype(np.float32)


def pattern_match(template, search, k, upsample):
    """(dx, dy) of the template centre from the search centre, in original pixels, and the peak correlation."""
    ut = upsample(template, k)
    us = upsample(search, k)
    corr = cv2.matchTemplate(us, ut, cv2.TM_CCOEFF_NORMED)
    my, mx = np.unravel_index(np.argmax(corr), corr.shape)
    dx = (mx - (corr.shape[1] - 1) / 2) / k
    dy = (my - (corr.shape[0] - 1) / 2) / k
    return dx, dy, float(corr[my, mx])


def main():
    folder = sys.argv[1]
    with open(f"{folder}/meta.json") as f:
        meta = json.load(f)
    rs, ms = meta["refSize"], meta["movingSize"]
    n, s, k = meta["templateSize"], meta["searchSize"], meta["upsampling"]
    h, hs = (n - 1) // 2, (s - 1) // 2
    raw = np.fromfile(f"{folder}/chips.f32", dtype="<f4")
    pairs = meta["pairs"]
    step = rs * rs + ms * ms
    chips = []
    for i in range(len(pairs)):
        ref = raw[i * step : i * step + rs * rs].reshape(rs, rs)
        mov = raw[i * step + rs * rs : (i + 1) * step].reshape(ms, ms)
        chips.append((ref, mov))

    def run(variant, limit=None):
        positions, times = [], []
        for (ref, mov), p in list(zip(chips, pairs))[:limit]:
            t0 = time.perf_counter()
            rx, ry = int(round(p["refPoint"]["x"])), int(round(p["refPoint"]["y"]))
            ax, ay = int(round(p["apriori"]["x"])), int(round(p["apriori"]["y"]))
            if variant == "pattern_match_prewarp":
                (a, b), (c, d) = p["affine"]
                B = np.linalg.inv(np.array([[a, b], [c, d]], dtype=np.float64))
                # Template pixel (i, j) samples the reference at refPoint + B·((i, j) − (h, h)).
                off = np.array([rx, ry], dtype=np.float64) - B @ np.array([h, h], dtype=np.float64)
                M = np.hstack([B, off[:, None]])
                template = cv2.warpAffine(ref, M, (n, n), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP)
            else:
                template = np.ascontiguousarray(ref[ry - h : ry + h + 1, rx - h : rx + h + 1])
            search = np.ascontiguousarray(mov[ay - hs : ay + hs + 1, ax - hs : ax + hs + 1])
            upsample = upsample_spline if variant == "pattern_match_spline" else upsample_cv
            dx, dy, _ = pattern_match(template, search, k, upsample)
            times.append((time.perf_counter() - t0) * 1000)
            positions.append([ax + dx, ay + dy])
        return positions, times

    out = {}
    for variant in meta["variants"]:
        run(variant, 10)  # warm-up (first calls allocate)
        best = None
        for _ in range(meta.get("repeats", 1)):
            positions, times = run(variant)
            ms_per_point = sum(times) / len(times)
            if best is None or ms_per_point < best[1]:
                best = (positions, ms_per_point)
        out[variant] = {"positions": best[0], "msPerPoint": best[1]}
    json.dump({"opencv": cv2.__version__, "threads": cv2.getNumThreads(), "variants": out}, sys.stdout)


if __name__ == "__main__":
    main()
