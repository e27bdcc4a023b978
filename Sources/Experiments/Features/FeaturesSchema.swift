/// The files written by the `solvable features` commands (see `OutputSchema`): learning curves of ridge regression on
/// deep structured Gaussian features (Zavatone-Veth & Pehlevan, NeurIPS 2023). Errors are in the units of the
/// target's variance: the teacher is scaled to signal s = theta*^T Sigma0 theta* (--signal) and the label noise has
/// variance eta^2 (--noise).
enum FeaturesSchema {
    /// Errors are relative to the scale of the targets: signal s = --signal, label-noise variance eta^2 = --noise.
    static let errorUnits = "target units squared"

    static let sampleColumns: [OutputField] = [
        OutputField("samples", "float", "number of training samples P"),
        OutputField("alpha", "float", "load alpha = P / n0"),
        OutputField("lambda", "float", "ridge lambda (0: minimum-norm / least squares)"),
    ]

    static let simulationColumns: [OutputField] = sampleColumns + [
        OutputField("trials", "float", "independent trials (fresh features, data and noise)"),
        OutputField("eps_g_mean", "float", "generalization error eps_g = (theta_hat - theta*)^T Sigma0 (theta_hat - theta*), mean over trials (exact, no test set)", units: errorUnits),
        OutputField("eps_g_se", "float", "standard error of eps_g_mean", units: errorUnits),
        OutputField("e_test_mean", "float", "test error E_test = eps_g + eta^2, mean over trials", units: errorUnits),
        OutputField("e_test_se", "float", "standard error of e_test_mean", units: errorUnits),
        OutputField("e_train_mean", "float", "training error (1/P) |y - Z v|^2, mean over trials", units: errorUnits),
        OutputField("e_train_se", "float", "standard error of e_train_mean", units: errorUnits),
    ]
}

extension FeaturesTheoryTask: DocumentedOutputs {
    public static var outputs: OutputDeclaration {
        let u = FeaturesSchema.errorUnits
        return OutputDeclaration(files: [
            .csv("theory", "the learning curve and order parameters, one row per P", columns: FeaturesSchema.sampleColumns + [
                OutputField("eps_g", "float", "generalization error eps_g = E_test - eta^2; inf at the ridgeless interpolation peak P = n_min", units: u),
                OutputField("e_test", "float", "test error E_test = (B + eta^2)/(1 - (d/P)(1 - 1/Lambda))", units: u),
                OutputField("e_train", "float", "training error E_train = (1 - d/P)^2 E_test", units: u),
                OutputField("d", "float", "degrees of freedom d, the root of the master equation (P or n_min when ridgeless)"),
                OutputField("Lambda", "float", "Lambda = 1 + sum_l chi_l"),
                OutputField("b1", "float", "bias sum b1 at kappa_1"),
                OutputField("b2", "float", "bias sum b2 at kappa_1"),
                OutputField("kappa_{l}", "float", "renormalized ridge kappa_l of layer l = 1, ..., L+1 (L+1: the readout); one column per layer"),
                OutputField("chi_{l}", "float", "chi_l of layer l = 1, ..., L+1 (inf for a layer at its rank bound); one column per layer"),
                OutputField("status", "string", "solver status of the row (converged, maxIterations, ...)"),
                OutputField("note", "string", "why a value is special (not converged, infinite at the peak), else empty"),
                OutputField("lambda_opt", "float", "optimal ridge lambda*(P) = argmin_lambda eps_g over [1e-4, 10]", when: "with --optimal-ridge true"),
                OutputField("eps_g_opt", "float", "eps_g at lambda*(P)", units: u, when: "with --optimal-ridge true"),
            ]),
            .svg("theory", "eps_g against P (and at lambda* with --optimal-ridge)"),
        ], result: [
            OutputField("model", "string", "one-line description of the model"),
            OutputField("n_min", "float", "n_min = min(n0, n_1, ..., n_L), the position of the ridgeless interpolation peak"),
            OutputField("samples", "list[float]", "the P grid"),
            OutputField("eps_g", "list[float]", "generalization error per P", units: u),
            OutputField("e_test", "list[float]", "test error per P", units: u),
            OutputField("e_train", "list[float]", "training error per P", units: u),
            OutputField("d", "list[float]", "degrees of freedom per P"),
            OutputField("Lambda", "list[float]", "Lambda per P"),
            OutputField("kappa", "list[list[float]]", "[P][layer] kappa_l"),
            OutputField("chi", "list[list[float]]", "[P][layer] chi_l"),
            OutputField("solve_seconds", "float", "wall time of the theory", units: "s"),
            OutputField("converged", "bool", "every point converged"),
            OutputField("status", "list[string]", "solver status per P"),
            OutputField("not_converged_samples", "list[float]", "the P that did not converge", when: "when some point did not converge"),
            OutputField("lambda_opt", "list[float]", "optimal ridge per P", when: "with --optimal-ridge true"),
            OutputField("eps_g_opt", "list[float]", "eps_g at the optimal ridge per P", units: u, when: "with --optimal-ridge true"),
        ])
    }
}

extension FeaturesSimulateTask: DocumentedOutputs {
    public static var outputs: OutputDeclaration {
        let u = FeaturesSchema.errorUnits
        return OutputDeclaration(files: [
            .csv("simulation", "simulated errors, one row per P", columns: FeaturesSchema.simulationColumns),
            .svg("simulation", "simulated eps_g against P with one standard error"),
        ], result: [
            OutputField("model", "string", "one-line description of the model"),
            OutputField("samples", "list[float]", "the P grid"),
            OutputField("trials", "int", "trials per P"),
            OutputField("eps_g_mean", "list[float]", "mean eps_g per P", units: u),
            OutputField("eps_g_se", "list[float]", "standard error per P", units: u),
            OutputField("e_train_mean", "list[float]", "mean training error per P", units: u),
            OutputField("e_train_se", "list[float]", "standard error per P", units: u),
            OutputField("simulate_seconds", "float", "wall time of the simulation", units: "s"),
        ])
    }
}

extension FeaturesCompareTask: DocumentedOutputs {
    public static var outputs: OutputDeclaration {
        let u = FeaturesSchema.errorUnits
        return OutputDeclaration(files: [
            .csv("comparison", "theory and simulation at each simulated P", columns: FeaturesSchema.simulationColumns + [
                OutputField("eps_g_theory", "float", "theory eps_g (inf at the ridgeless peak)", units: u),
                OutputField("e_train_theory", "float", "theory training error", units: u),
                OutputField("z", "float", "z = (eps_g_mean - eps_g_theory) / eps_g_se"),
                OutputField("z_train", "float", "the same z for the training error"),
                OutputField("in_verdict", "float", "1 when the point enters the verdict, 0 when it is excluded near the peak"),
                OutputField("note", "string", "why a point is special, else empty"),
            ]),
            .csv("theory_line", "the theory on a dense log grid of P (the line of the figure)", columns: [
                OutputField("samples", "float", "P"),
                OutputField("eps_g", "float", "theory eps_g (inf at the ridgeless peak)", units: u),
            ]),
            .svg("comparison", "theory (line) against simulation (points with one standard error)"),
        ], result: [
            OutputField("model", "string", "one-line description of the model"),
            OutputField("n_min", "float", "position of the ridgeless interpolation peak"),
            OutputField("samples", "list[float]", "the simulated P"),
            OutputField("trials", "int", "trials per P"),
            OutputField("eps_g_theory", "list[float]", "theory eps_g per P", units: u),
            OutputField("eps_g_mean", "list[float]", "simulated mean eps_g per P", units: u),
            OutputField("eps_g_se", "list[float]", "its standard error", units: u),
            OutputField("z", "list[float]", "z-score per P"),
            OutputField("verdict", "string", "agree or disagree"),
            OutputField("agreement", "object", "statistic, value, tolerance, higher_is_better, passed, detail"),
            OutputField("seconds", "float", "wall time", units: "s"),
        ])
    }
}
