/// The files written by the `solvable dmft` commands (see `OutputSchema`). Conventions of Bordelon & Pehlevan,
/// NeurIPS 2022: f = w.phi(h^L)/(gamma0 N), loss (1/2P) sum_mu Delta_mu^2, grid time t = "after t updates".
enum DMFTSchema {
    static let axes: [OutputAxis] = [
        OutputAxis("t", "grid time t = 0, ..., T-1 (after t gradient steps), T = --steps; continuous time tau = eta t / P"),
        OutputAxis("s", "second grid time of a two-time kernel (same grid as t)"),
        OutputAxis("mu", "sample: the P training points, then the test points (n = P + P_test); delta.npy has the training points only"),
        OutputAxis("nu", "second sample index of a kernel (same points as mu)"),
    ]
    /// `dmft solve` also writes factors of the deep linear Phi^l.
    static let factorAxis = OutputAxis("k", "column of a kernel factor F (r columns, the numerical rank of Phi^l; docs/theory/dmft-low-rank.md)")

    static let factoredCondition = "with --save-kernels true, deep linear solver, --kernel-format factored, or auto when T n > 4096"

    static let kernelCondition = "with --save-kernels true (the default)"

    /// Phi^l, G^l, NTK, Delta and predictions, optionally prefixed (`dmft_` in `dmft compare`).
    /// `factored`: the deep linear Phi^l may be written as factors instead (`dmft solve`).
    static func kernelFiles(prefix: String = "", source: String, factored: Bool = false) -> [OutputFile] {
        let phiUnits = "(1/N) phi(h^l_mu(t)) . phi(h^l_nu(s)); H^l for a linear network; O(1), K^x = x.x'/D at t = s = 0 in layer 1"
        let factorFile: [OutputFile] = factored ? [
            .npy(prefix + "phi_layer{l}_factor", axes: ["t", "mu", "k"], units: phiUnits,
                 "\(source) feature kernel Phi^l = H^l of a deep linear network as a factor F (T n r numbers instead of (T n)^2): "
                 + "Phi^l[t, mu, s, nu] = sum_k F[t, mu, k] F[s, nu, k]; in numpy a block is F[t] @ F[s].T (n x n), the rows of times "
                 + "a..b against times c..d are F[a:b].reshape(-1, r) @ F[c:d].reshape(-1, r).T, the full kernel (where it fits) "
                 + "F.reshape(T*n, r) @ F.reshape(T*n, r).T reshaped to [T, n, T, n], the sample trace (1/n) einsum('tmk,smk->ts', F, F) "
                 + "(docs/theory/dmft-low-rank.md)", when: factoredCondition),
        ] : []
        return [
            .npy(prefix + "phi_layer{l}", axes: ["t", "mu", "s", "nu"], units: phiUnits,
                 "\(source) feature kernel Phi^l(t, s) of hidden layer l = 1, ..., L (paper eq. 9)",
                 when: factored ? kernelCondition + "; for the deep linear solver with --kernel-format dense, or auto when T n <= 4096" : kernelCondition),
        ] + factorFile + [
            .npy(prefix + "g_layer{l}", axes: ["t", "mu", "s", "nu"], ["t", "s"],
                 units: "(1/N) g^l_mu(t) . g^l_nu(s) with g^l = gamma0 N df/dh^l; equals 1 at initialization for a linear network",
                 "\(source) gradient kernel G^l(t, s) of hidden layer l; [t, s] when it carries no sample index (deep linear networks)",
                 when: kernelCondition),
            .npy(prefix + "ntk", axes: ["t", "mu", "nu"],
                 units: "K[t] = sum_{l=0}^{L} G^{l+1}[t,.,t,.] * Phi^l[t,.,t,.] (elementwise, Phi^0 = K^x, G^{L+1} = 1); (L+1) K^x at t = 0 for a linear network",
                 "\(source) neural tangent kernel at every grid time", when: kernelCondition),
            .npy(prefix + "delta", axes: ["t", "mu"],
                 units: "Delta_mu(t) = y_mu - (f_mu(t) - f_mu(0)); Delta(0) = y",
                 "\(source) training errors on the training points", when: kernelCondition),
            .npy(prefix + "predictions", axes: ["t", "mu"], units: "f_mu(t) - f_mu(0) (centered output)",
                 "\(source) predictions on training then test points", when: kernelCondition),
        ]
    }

    static func lossColumns(_ label: String = "loss", standardError: String? = nil) -> [OutputField] {
        var c = [
            OutputField("t", "float", "grid time (integer valued)"),
            OutputField("tau", "float", "continuous time tau = eta t / P"),
            OutputField(label, "float", "training loss (1/2P) sum_mu Delta_mu(t)^2 before update t (twice that, mean(Delta^2), with --loss-convention mean where the command has it)", units: "squared target units"),
        ]
        if let se = standardError { c.append(OutputField(label + "_standard_error", "float", "standard error of the loss", when: se)) }
        return c
    }

    static let heatmaps: [OutputFile] = [
        .svg("phi_layer{l}_heatmap", "heatmap of the sample-averaged Phi^l(t, s) = (1/n) sum_mu Phi^l[t, mu, s, mu]"),
        .svg("g_layer{l}_heatmap", "heatmap of the sample-averaged G^l(t, s)"),
    ]

    static func checkpoint(_ name: String) -> OutputFile {
        OutputFile(name: name, format: .checkpoint, dtype: "binary",
                   meaning: "solver state of a Monte Carlo solve (keyed by problem, options and seed); a rerun resumes from it",
                   condition: "only while a Monte Carlo solve runs or after it was interrupted; deleted once the outputs are written")
    }

    static let record = OutputField("record", "object", "solver record: status, iterations, final_residual, tolerance, seconds, message")
    static func lossKeys(_ whose: String = "") -> [OutputField] {
        [OutputField("final_loss", "float", "\(whose)loss at the last grid time"),
         OutputField("loss", "list[float]", "\(whose)loss at every grid time (as loss.csv)")]
    }
    static let ntkAlignment = OutputField("ntk_target_alignment", "list[float]",
                                          "A(K[t], y y^T) = y^T K y / (|K|_F |y|^2) on the training block, per grid time")
}

extension DMFTSolveTask: DocumentedOutputs {
    public static var outputs: OutputDeclaration {
        OutputDeclaration(axes: DMFTSchema.axes + [DMFTSchema.factorAxis], files: [
            .csv("loss", "DMFT training loss over grid time",
                 columns: DMFTSchema.lossColumns(standardError: "Monte Carlo solver with --replicas > 1")),
            .svg("loss", "loss against grid time (log scale)"),
        ] + DMFTSchema.heatmaps + DMFTSchema.kernelFiles(source: "DMFT", factored: true) + [DMFTSchema.checkpoint("dmft-solve.checkpoint")],
        result: [
            OutputField("solver", "string", "which solver ran: deep linear on low-rank factors, its dense fallback, the dense reference (--solver linear-dense), or alternating Monte Carlo (with S)"),
            DMFTSchema.record,
            OutputField("low_rank", "object",
                        "deep linear solver on factors: method (low-rank or dense fallback), kernel_ranks (numerical rank of H^l, eigenvalues above 1e-15 of the largest), factor_widths (columns of the factors), kernel_rank_bounds (exact bounds, docs/theory/dmft-low-rank.md), gradient_ranks (numerical rank of G^l), max_left_out_weight",
                        when: "deep linear solver (not with --solver linear-dense or mc)"),
        ] + DMFTSchema.lossKeys() + [
            DMFTSchema.ntkAlignment,
            OutputField("kernel_movement", "list[float]", "per layer l = 1..L: alignment A(Phi^l[T-1, ., T-1, .], Phi^l[0, ., 0, .]) of the final with the initial equal-time kernel (1 = did not move; paper Fig. 2c)"),
        ])
    }
}

extension DMFTApproxTask: DocumentedOutputs {
    public static var outputs: OutputDeclaration {
        OutputDeclaration(axes: DMFTSchema.axes, files: [
            .csv("loss", "loss of the approximation over grid time", columns: DMFTSchema.lossColumns()),
            .svg("loss", "loss against grid time (log scale)"),
        ] + DMFTSchema.heatmaps + DMFTSchema.kernelFiles(source: "approximate") + [DMFTSchema.checkpoint("dmft-approx.checkpoint")],
        result: [
            OutputField("method", "string", "static, gi, perturbative or perturbative-eq13"),
            DMFTSchema.record,
        ] + DMFTSchema.lossKeys() + [
            DMFTSchema.ntkAlignment,
        ])
    }
}

extension DMFTTrainTask: DocumentedOutputs {
    public static var outputs: OutputDeclaration {
        OutputDeclaration(axes: DMFTSchema.axes, files: [
            .csv("loss", "ensemble-mean loss of the width-N networks", columns: DMFTSchema.lossColumns(standardError: "with --seeds > 1")),
            .svg("loss", "network loss against grid time (log scale)"),
        ] + DMFTSchema.heatmaps + DMFTSchema.kernelFiles(source: "ensemble-mean network"),
        result: [
            OutputField("width", "int", "network width N"),
            OutputField("seeds", "int", "ensemble members"),
            OutputField("final_loss_standard_error", "float or null", "standard error of final_loss over members (null for one member)"),
        ] + DMFTSchema.lossKeys("ensemble-mean ") + [
            DMFTSchema.ntkAlignment,
        ])
    }
}

extension DMFTCompareTask: DocumentedOutputs {
    public static var outputs: OutputDeclaration {
        OutputDeclaration(axes: DMFTSchema.axes, files: [
            .csv("width_sweep", "DMFT against the ensemble-mean networks, one row per width", columns: [
                OutputField("width", "float", "network width N"),
                OutputField("final_loss_abs_difference", "float", "|network final loss - DMFT final loss|"),
                OutputField("final_loss_standard_error", "float", "standard error of the networks' final loss over seeds"),
                OutputField("alignment_phi_layer{l}", "float", "A(Phi^l_DMFT, Phi^l_network) = <X,Y>_F/(|X|_F |Y|_F) of the full [t, mu, s, nu] tensors; one column per layer"),
                OutputField("alignment_g_layer{l}", "float", "the same alignment for G^l; one column per layer"),
            ]),
            .csv("dmft_loss", "DMFT loss over grid time", columns: DMFTSchema.lossColumns()),
            .svg("loss", "loss: DMFT (line) and networks of each width (points)"),
            .svg("alignment", "per-layer Phi^l alignment against width (log axis)"),
        ] + DMFTSchema.kernelFiles(prefix: "dmft_", source: "DMFT"),
        result: [
            OutputField("solver", "string", "which DMFT solver ran"),
            DMFTSchema.record,
            OutputField("dmft_final_loss", "float", "DMFT loss at the last grid time"),
            OutputField("widths", "list[int]", "widths, ascending"),
            OutputField("final_loss_abs_difference", "list[float]", "per width, as width_sweep.csv"),
            OutputField("alignment_phi", "list[list[float]]", "[width][layer] alignment of Phi^l"),
            OutputField("alignment_g", "list[list[float]]", "[width][layer] alignment of G^l"),
        ])
    }
}
