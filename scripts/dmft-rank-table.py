#!/usr/bin/env python3
"""The rank table of docs/theory/dmft-low-rank.md: eigenvalue counts of the converged deep linear DMFT kernels.

An independent numpy implementation of the dense closed equations (Bordelon & Pehlevan, NeurIPS 2022, eqs. 11-12,
grid normalization of the response functions; Gauss-Seidel sweeps to rho < 1e-14; gradient independence sets
A = B = 0), then the number of eigenvalues of H^l and G^l above 1e-15 and 1e-10 of the largest, against the exact
bound rank H^l <= rank K^x + sum_{k<=l} min(T - 1, rank G^{k+1}) with rank G^{L+1} = 1.
Usage: python3 scripts/dmft-rank-table.py   (a few minutes on 2 cores)
"""
import warnings

import numpy as np

warnings.filterwarnings("ignore")
def dense_solve(X, y, L, T, g0, eta, gi=False, tol=1e-14, max_iter=3000):
    P, D = X.shape; TP = T*P; c0 = eta*g0/P; Kx = X@X.T/D
    H = [np.tile(Kx, (T, T)) for _ in range(L+1)]; G = [None]+[np.ones((T, T)) for _ in range(L+1)]
    A = [np.zeros((TP, T)) for _ in range(L+1)]; B = [np.zeros((T, TP)) for _ in range(L+1)]
    strict = np.tril(np.ones((T, T)), -1); rowt = np.repeat(np.arange(T), P)
    maskC = (rowt[:, None] > np.arange(T)[None, :]).astype(float)
    delta = np.tile(y, (T, 1))
    def euler():
        d = y.copy(); out = []
        for t in range(T):
            out.append(d.copy())
            if t == T-1: break
            K = sum(G[l+1][t, t]*H[l][t*P:(t+1)*P, t*P:(t+1)*P] for l in range(L+1))
            d = d - eta/P*K@d
        return np.array(out)
    for it in range(max_iter):
        nd = euler(); rho = np.max(np.abs(nd-delta)); delta = nd
        for l in range(1, L+1):
            Hp, Gn = H[l-1], G[l+1]
            C = (0 if gi else A[l-1]) + c0*maskC*(Hp.reshape(TP, T, P)*delta[None]).sum(-1)
            Dm = (0 if gi else B[l]) + c0*(strict[:, :, None]*Gn[:, :, None]*delta[None]).reshape(T, TP)
            Mh = np.linalg.inv(np.eye(TP)-C@Dm); Mg = np.linalg.inv(np.eye(T)-Dm@C)
            Hn = Mh@(Hp+C@Gn@C.T)@Mh.T; Gl = Mg@(Gn+Dm@Hp@Dm.T)@Mg.T
            rho = max(rho, np.linalg.norm(Hn-H[l])/np.linalg.norm(Hn), np.linalg.norm(Gl-G[l])/np.linalg.norm(Gl))
            H[l], G[l] = Hn, Gl
            if l < L: A[l] = C@Mg
            if l >= 2: B[l-1] = Mg@Dm
        if rho < tol: break
    return H, G, it, rho
def nrank(M, rel):
    w = np.linalg.eigvalsh((M+M.T)/2)[::-1]; return int((w > rel*w[0]).sum())
def bounds(rho, L, T, n):
    out, a = [], rho
    for l in range(1, L+1):
        a += min(T-1, 1 if l == L else T); out.append(int(min(a, T*n)))
    return out
for (P, D, T, L, g0, eta, gi) in [(3,40,10,2,3.0,0.2,False),(3,40,10,2,3.0,0.2,True),(4,40,40,1,1.5,0.3,False),(6,3,25,3,1.0,0.1,False),(6,3,25,3,1.0,0.1,True),(20,40,30,3,1.5,0.025,False),(20,40,50,3,1.5,0.025,False),(20,40,50,3,1.5,0.025,True)]:
    rng = np.random.default_rng(7); X = rng.standard_normal((P, D)); y = np.where(np.arange(P) < (P+1)//2, 1.0, -1.0)
    H, G, it, rho = dense_solve(X, y, L, T, g0, eta, gi)
    rho_x = int(np.linalg.matrix_rank(X@X.T/D))
    print(f"P={P} D={D} T={T} L={L} g0={g0} eta={eta} gi={gi}: sweeps {it+1} rho {rho:.0e} rankKx {rho_x} | H ranks @1e-15 {[nrank(H[l],1e-15) for l in range(1,L+1)]} @1e-10 {[nrank(H[l],1e-10) for l in range(1,L+1)]} bound {bounds(rho_x,L,T,P)} | G ranks @1e-15 {[nrank(G[l],1e-15) for l in range(1,L+1)]} @1e-10 {[nrank(G[l],1e-10) for l in range(1,L+1)]} of T={T}", flush=True)
