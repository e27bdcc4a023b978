"""Benchmark: one epoch of minibatch SGD of a mean-field ReLU CNN in float32 (the fluctuations paper's architecture:
3x3 'SAME' convolutions without bias, 2x2 average pooling after each, global average pooling, readout / (gamma0 N)).

Protocol (both sides): images pixel(i, c, y, x) = sin(0.37 i + 1.3 c + 0.71 y + 0.113 x (1 + i mod 7)), label i mod 2,
target +-1; weights W^l (N x 9C, column index k C + c with k = 3 (dy + 1) + (dx + 1)), column-major entry j equal to
sqrt(2) sin(0.7 j + 1.1 l + 0.3), readout sqrt(2) sin(0.9 j + 0.5); h^l = W^l col(A^{l-1}) / sqrt(9 C_{l-1}), ReLU,
pooling; f = w . GAP / (gamma0 N) (not centred); loss (1/2B) sum (f - y)^2; SGD with learning rate eta gamma0^2 N over
consecutive batches of B images. Recorded: the batch loss before each step.

The numpy port is the published code's algorithm written in numpy: im2col by slicing a padded channels-last array and
one matmul per layer, float32 (as JAX on CPU). The timing covers the epoch only. `agree`: batch losses equal to 1e-3
relative (float32 rounding over a few steps); the detail gives Solvable's fraction of its sgemm peak in this run.
"""
import time

import numpy as np

PARAMS = {"images": 1024, "channels": 3, "size": 32, "width": 32, "layers": 5, "pool": 1, "batch_size": 256,
          "gamma0": 1.0, "eta": 0.05}


def images(n, C, S):
    i = np.arange(n)[:, None, None, None]
    c = np.arange(C)[None, None, None, :]
    y = np.arange(S)[None, :, None, None]
    x = np.arange(S)[None, None, :, None]
    return np.sin(0.37 * i + 1.3 * c + 0.71 * y + 0.113 * x * (1 + i % 7)).astype(np.float32)  # (n, H, W, C)


def weights(N, fan, l):
    j = np.arange(N * fan)
    w = np.sqrt(2) * np.sin(0.7 * j + 1.1 * l + 0.3)
    return w.reshape(fan, N).T.astype(np.float32)   # column-major N x fan


def im2col(a):
    B, H, W, C = a.shape
    p = np.pad(a, ((0, 0), (1, 1), (1, 1), (0, 0)))
    cols = [p[:, 1 + dy:1 + dy + H, 1 + dx:1 + dx + W, :] for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    return np.stack(cols, axis=3).reshape(B * H * W, 9 * C)


def col2im(dcol, shape):
    B, H, W, C = shape
    d = dcol.reshape(B, H, W, 9, C)
    out = np.zeros((B, H + 2, W + 2, C), dtype=dcol.dtype)
    k = 0
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            out[:, 1 + dy:1 + dy + H, 1 + dx:1 + dx + W, :] += d[:, :, :, k, :]
            k += 1
    return out[:, 1:H + 1, 1:W + 1, :]


def numpy_run(p):
    n, C, S, N, L, B = p["images"], p["channels"], p["size"], p["width"], p["layers"], p["batch_size"]
    g0, eta, pool = p["gamma0"], p["eta"], bool(p["pool"])
    X = images(n, C, S)
    y = np.where(np.arange(n) % 2 == 1, 1.0, -1.0).astype(np.float32)
    fans = [9 * C] + [9 * N] * (L - 1)
    Ws = [weights(N, fans[l], l) for l in range(L)]
    w = (np.sqrt(2) * np.sin(0.9 * np.arange(N) + 0.5)).astype(np.float32)
    rate = np.float32(eta * g0 * g0 * N)
    losses = []
    t = time.perf_counter()
    for start in range(0, n - B + 1, B):
        a = X[start:start + B]
        cache = []
        for l in range(L):
            Bb, H, W_, Cin = a.shape
            col = im2col(a)
            s = np.float32(1 / np.sqrt(9 * Cin))
            h = (col @ Ws[l].T) * s
            phi = np.maximum(h, 0).reshape(Bb, H, W_, N)
            cache.append((col, h, a.shape, s))
            a = phi.reshape(Bb, H // 2, 2, W_ // 2, 2, N).mean(axis=(2, 4)) if pool else phi
        feats = a.mean(axis=(1, 2))
        f = feats @ w / np.float32(g0 * N)
        e = f - y[start:start + B]
        losses.append(float(np.mean(e.astype(np.float64) ** 2)))
        g = (e / B).astype(np.float32)
        gw = feats.T @ g / np.float32(g0 * N)
        dfeat = np.outer(g, w) / np.float32(g0 * N)
        Bb, H, W_, _ = a.shape
        da = np.broadcast_to(dfeat[:, None, None, :] / np.float32(H * W_), a.shape)
        gWs = [None] * L
        for l in reversed(range(L)):
            col, h, ishape, s = cache[l]
            Bb, H, W_, Cin = ishape
            if pool:
                da = np.repeat(np.repeat(da, 2, axis=1), 2, axis=2) * np.float32(0.25)
            dh = da.reshape(-1, N) * (h > 0)
            gWs[l] = (dh.T @ col) * s
            if l > 0:
                da = col2im((dh @ Ws[l]) * s, ishape)
        for l in range(L):
            Ws[l] -= rate * gWs[l]
        w -= rate * gw
    return {"losses": losses}, time.perf_counter() - t


def agree(sv, np_answer):
    a, b = np.array(sv["losses"]), np.array(np_answer["losses"])
    rel = float(np.max(np.abs(a - b) / np.abs(b))) if len(a) == len(b) else float("inf")
    return rel < 1e-3, f"max rel diff of {len(b)} batch losses {rel:.1e}; Solvable {sv['gflops']:.1f} GFLOP/s = {100 * sv['gflops'] / sv['sgemm_peak_gflops']:.0f}% of its sgemm peak {sv['sgemm_peak_gflops']:.1f}"
