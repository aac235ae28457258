"""Float64 numpy reference of the VL-SAE alignment loss (lamina_vlalign_*): symmetric InfoNCE on the
normalised projections plus the tied reconstruction, its analytic gradient, and torch's Adam."""
import numpy as np


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def loss(Pv, Pt, V, T, temperature, recon_weight):
    """(loss, infonce, R_v, R_t) in float64."""
    xv, xt = _unit(V), _unit(T)
    yv, yt = xv @ Pv.T, xt @ Pt.T
    uv = yv / np.maximum(np.linalg.norm(yv, axis=1, keepdims=True), 1e-12)
    ut = yt / np.maximum(np.linalg.norm(yt, axis=1, keepdims=True), 1e-12)
    L = uv @ ut.T / temperature
    B = L.shape[0]

    def lse(a, axis):
        m = a.max(axis=axis, keepdims=True)
        return (m + np.log(np.exp(a - m).sum(axis=axis, keepdims=True))).squeeze(axis)
    nce = (np.sum(lse(L, 1) - np.diag(L)) + np.sum(lse(L, 0) - np.diag(L))) / (2 * B)
    rv = np.sum((yv @ Pv - xv) ** 2) / B
    rt = np.sum((yt @ Pt - xt) ** 2) / B
    return nce + recon_weight * (rv + rt), nce, rv, rt


def grad(Pv, Pt, V, T, temperature, recon_weight):
    """Analytic gradient (dloss/dPv, dloss/dPt) in float64."""
    xv, xt = _unit(V), _unit(T)
    B = xv.shape[0]
    out = []
    ys = [xv @ Pv.T, xt @ Pt.T]
    ns = [np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12) for y in ys]
    us = [y / n for y, n in zip(ys, ns)]
    L = us[0] @ us[1].T / temperature
    er = np.exp(L - L.max(axis=1, keepdims=True))
    ec = np.exp(L - L.max(axis=0, keepdims=True))
    G = (er / er.sum(axis=1, keepdims=True) + ec / ec.sum(axis=0, keepdims=True) - 2 * np.eye(B)) / (2 * B * temperature)
    dus = [G @ us[1], G.T @ us[0]]
    for m, (P, x) in enumerate(((Pv, xv), (Pt, xt))):
        u, du, y, n = us[m], dus[m], ys[m], ns[m]
        dy = (du - np.sum(u * du, axis=1, keepdims=True) * u) / n
        E = y @ P - x
        dy = dy + 2 * recon_weight / B * E @ P.T
        out.append(dy.T @ x + 2 * recon_weight / B * y.T @ E)
    return out[0], out[1]


def adam_steps(Pv, Pt, batches, temperature, recon_weight, lr, betas=(0.9, 0.999), eps=1e-8):
    """torch's Adam on (Pv, Pt) over the given batches [(V_b, T_b), ...]; returns the final projections."""
    params = [Pv.astype(np.float64).copy(), Pt.astype(np.float64).copy()]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t, (Vb, Tb) in enumerate(batches, start=1):
        gs = grad(params[0], params[1], Vb, Tb, temperature, recon_weight)
        for i in range(2):
            m[i] = betas[0] * m[i] + (1 - betas[0]) * gs[i]
            v[i] = betas[1] * v[i] + (1 - betas[1]) * gs[i] ** 2
            mhat = m[i] / (1 - betas[0] ** t)
            vhat = v[i] / (1 - betas[1] ** t)
            params[i] = params[i] - lr * mhat / (np.sqrt(vhat) + eps)
    return params
