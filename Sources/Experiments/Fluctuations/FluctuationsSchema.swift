/// The files written by the `solvable fluctuations` commands (see `OutputSchema`): O(1/N) fluctuations of mean-field
/// networks (Bordelon & Pehlevan, NeurIPS 2023). Variances are scaled by the width: N Var q = N (<q^2> - <q>^2),
/// which has a finite limit as N -> infinity.
enum FluctuationsSchema {
    static let theoryObservables = """
        observable q, by --model: two-layer delta, kernel (and kernel_test, test_output with a nonlinear activation); \
        lazy delta, delta_continuous_time; deep-init phi, gradient (indexed by layer); deep-linear delta, kernel; \
        eos delta, output, kernel; online delta, sigma_delta, sigma_perp, excess_error_times_N (the mean columns of \
        online all hold Delta, except excess_error_times_N: Delta^2)
        """

    static let ensembleObservables = """
        observable q, by --model: two-layer and lazy delta, kernel, kernel_test, test_output; eos and deep-linear \
        delta, kernel; deep-init phi, gradient (indexed by layer); online squared_error, beta1, beta_perp_squared
        """

    static let indexColumns: [OutputField] = [
        OutputField("t", "float", "grid time t = 0, ..., T-1 (after t gradient steps)", when: "every model but deep-init"),
        OutputField("layer", "float", "hidden layer l = 1, ..., L", when: "--model deep-init"),
    ]

    static let indexKeys: [OutputField] = [
        OutputField("t", "list[float]", "grid times", when: "every model but deep-init"),
        OutputField("layer", "list[float]", "layers", when: "--model deep-init"),
    ]

    static let variancePlot = OutputFile.svg("variance", "N Var of each observable against t (or layer)")
}

extension FluctuationsTheoryTask: DocumentedOutputs {
    public static var outputs: OutputDeclaration {
        OutputDeclaration(files: [
            .csv("fluctuations", "leading-order theory: the infinite-width mean and N Var of each observable", columns: FluctuationsSchema.indexColumns + [
                OutputField("mean_{q}", "float", "infinite-width (DMFT) mean of q; " + FluctuationsSchema.theoryObservables),
                OutputField("n_var_{q}", "float", "leading-order N Var q = diag[(I - D)^-1 kappa (I - D)^-T]", units: "variance times width N"),
            ]),
            FluctuationsSchema.variancePlot,
        ], result: FluctuationsSchema.indexKeys + [
            OutputField("mean_{q}", "list[float]", "as the CSV column"),
            OutputField("n_var_{q}", "list[float]", "as the CSV column", units: "variance times width N"),
            OutputField("model", "string", "the --model"),
            OutputField("method", "string", "how the variance was computed", when: "two-layer, deep-linear"),
            OutputField("kernel", "float", "the lazy kernel K", when: "--model lazy"),
            OutputField("kappa", "float", "the kernel's single-site fourth-moment constant kappa", when: "--model lazy"),
            OutputField("note", "string", "how to read the columns", when: "deep-init, online"),
            OutputField("kernel_signal_to_noise", "list[float]", "<K>^2 / (N Var K) per time", when: "--model deep-linear"),
            OutputField("gradient_flow_final_kernel", "float", "final kernel of gradient flow (the small-eta limit)", when: "--model eos"),
            OutputField("stability_threshold_2_over_eta", "float", "2/eta, the edge-of-stability kernel value", when: "--model eos"),
            OutputField("training_converged", "bool", "|Delta(T-1)| <= 1e-3", when: "--model eos"),
            OutputField("training_note", "string", "why training did not converge, if it did not", when: "--model eos"),
        ])
    }
}

extension FluctuationsEnsembleTask: DocumentedOutputs {
    public static var outputs: OutputDeclaration {
        OutputDeclaration(files: [
            .csv("fluctuations", "measured over E networks of width N: mean and N Var of each observable with standard errors",
                 columns: FluctuationsSchema.indexColumns + [
                OutputField("mean_{q}", "float", "ensemble mean of q; " + FluctuationsSchema.ensembleObservables),
                OutputField("mean_se_{q}", "float", "standard error of the mean"),
                OutputField("n_var_{q}", "float", "N times the ensemble variance of q", units: "variance times width N"),
                OutputField("n_var_se_{q}", "float", "standard error of n_var (from the fourth moment, about sqrt(2/E) relative)", units: "variance times width N"),
            ]),
            FluctuationsSchema.variancePlot,
        ], result: FluctuationsSchema.indexKeys + [
            OutputField("mean_{q}", "list[float]", "as the CSV column"),
            OutputField("mean_se_{q}", "list[float]", "as the CSV column"),
            OutputField("n_var_{q}", "list[float]", "as the CSV column", units: "variance times width N"),
            OutputField("n_var_se_{q}", "list[float]", "as the CSV column", units: "variance times width N"),
            OutputField("model", "string", "the --model"),
            OutputField("width", "int", "N"),
            OutputField("members", "int", "E"),
            OutputField("elapsed_seconds", "float", "training wall time", units: "s", when: "two-layer, lazy, eos"),
            OutputField("kernel_signal_to_noise_measured", "list[float]", "<K>^2 / (N Var K) per time", when: "--model deep-linear"),
            OutputField("note", "string", "how to compare with the theory", when: "--model deep-linear"),
        ])
    }
}

extension FluctuationsCompareTask: DocumentedOutputs {
    public static var outputs: OutputDeclaration {
        let nvar = "variance times width N"
        return OutputDeclaration(files: [
            .csv("comparison", "theory against ensembles, one row per (gamma0, N, observable, t)", columns: [
                OutputField("gamma0", "float", "feature-learning strength gamma0"),
                OutputField("width", "float", "N"),
                OutputField("observable", "string", "delta, kernel or test_output"),
                OutputField("t", "float", "grid time"),
                OutputField("theory_n_var", "float", "leading-order N Var", units: nvar),
                OutputField("ensemble_n_var", "float", "measured N Var", units: nvar),
                OutputField("ensemble_n_var_se", "float", "its standard error", units: nvar),
                OutputField("z", "float", "(ensemble_n_var - theory_n_var) / ensemble_n_var_se"),
                OutputField("measured_n_bias", "float", "N (<q_N> - q_inf): the O(1/N) bias of the mean times N (measured, not predicted)"),
                OutputField("measured_n_bias_se", "float", "its standard error"),
                OutputField("exact_n_bias", "float", "exact finite-N bias times N from the chi^2 law of the two-layer linear network", when: "--activation linear"),
            ]),
            .csv("slopes", "log-log slope of eps_N = E[(q_N - q_inf)^2] against N at --eval-time (theory: -1)", when: "with 3 or more widths", columns: [
                OutputField("gamma0", "float", "gamma0"),
                OutputField("observable", "string", "delta, kernel or test_output"),
                OutputField("slope", "float", "fitted slope"),
                OutputField("slope_se", "float", "its standard error"),
            ]),
            .svg("deviation", "eps_N against N (log-log) with fitted slopes"),
        ], result: [
            OutputField("widths", "list[int]", "widths N"),
            OutputField("max_abs_z", "float", "largest |z| over all rows"),
            OutputField("slopes", "list[object]", "per (gamma0, observable): slope, slope_se, eps_n, eps_n_se (empty with fewer than 3 widths)"),
        ])
    }
}
