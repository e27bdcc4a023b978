/// The files written by `solvable dmft cnn` and `solvable fluctuations cnn` (see `OutputSchema`): ensembles of
/// mean-field CNNs trained on images (docs/cnn.md). Loss: mean over images of |f_c - y|^2 (targets +-1 for two
/// classes, one-hot - 1/K otherwise); accuracy: fraction of sign (argmax) agreement; alignment A(Phi^L, y y^T).
enum CNNSchema {
    static let curveColumns: [OutputField] = [
        OutputField("width", "float", "channels N"),
        OutputField("gamma0", "float", "feature-learning strength gamma0"),
        OutputField("step", "float", "SGD steps taken (integer valued)"),
        OutputField("epoch", "float", "step B / (training images)"),
        OutputField("{observable}_mean", "float", "ensemble mean over the members; observable: test_loss, test_accuracy, train_loss (on the training-evaluation subset), alignment (of the last layer's feature kernel on the test subset with y y^T)"),
        OutputField("{observable}_se", "float", "standard error of the ensemble mean"),
    ]

    static let common: [OutputField] = [
        OutputField("data", "string", "data source, classes, image shape and subset sizes"),
        OutputField("widths", "list[float]", "channels N"),
        OutputField("gamma0", "list[float]", "feature-learning strengths"),
        OutputField("members", "int", "networks (seeds) per width and gamma0"),
        OutputField("steps", "list[float]", "recorded SGD steps"),
        OutputField("learning_rate_note", "string", "the SGD learning-rate scaling"),
        OutputField("precision", "string", "float (sgemm) or double (dgemm)"),
        OutputField("elapsed_seconds", "float", "wall time of data preparation and training", units: "s"),
    ]
}

extension DMFTCNNTask: DocumentedOutputs {
    public static var outputs: OutputDeclaration {
        OutputDeclaration(files: [
            .csv("curves", "ensemble mean and standard error of each observable per (width, gamma0, recorded step)", columns: CNNSchema.curveColumns),
            .svg("test_loss", "test loss against step, one curve per (N, gamma0), ensemble error bars"),
            .svg("test_accuracy", "test accuracy against step (from the first recorded step after 0)"),
            .svg("alignment", "alignment A(Phi^L, y y^T) against step"),
        ], result: CNNSchema.common + [
            OutputField("final", "list[object]", "per (width, gamma0): width, gamma0 and {observable}, {observable}_se at the last step"),
            OutputField("width_consistency_max_abs_z", "float", "max over gamma0, pairs of widths, steps after 0 and test_loss, test_accuracy, alignment of |mean_N - mean_N'| / sqrt(se_N^2 + se_N'^2)"),
            OutputField("width_consistency_comparisons", "int", "number of comparisons behind the max |z|"),
            OutputField("width_consistency_worst", "string", "where the max |z| occurs"),
        ])
    }
}

extension FluctuationsCNNTask: DocumentedOutputs {
    public static var outputs: OutputDeclaration {
        OutputDeclaration(files: [
            .csv("curves", "ensemble mean and standard error of each observable per (width, gamma0, recorded step)", columns: CNNSchema.curveColumns),
            .csv("widths", "per width: bias, variance and training speed of the final training loss", columns: [
                OutputField("width", "float", "channels N"),
                OutputField("final_train_loss_mean", "float", "ensemble mean of the final training loss (bias: its N dependence)"),
                OutputField("final_train_loss_se", "float", "standard error of that mean"),
                OutputField("final_train_loss_variance", "float", "variance of the final training loss across members"),
                OutputField("final_train_loss_variance_se", "float", "standard error of the variance (fourth moment)"),
                OutputField("log_loss_slope_per_epoch", "float", "mean over members of the fitted slope of log(train loss) per epoch (steps after 0)"),
                OutputField("log_loss_slope_per_epoch_se", "float", "standard error of that mean"),
            ]),
            .svg("train_loss", "ensemble-mean training loss against step per width (log scale)"),
            .svg("bias", "ensemble-mean final training loss against 1/N with the fitted c0 + c1/N (+ c2/N^2)"),
            .svg("variance", "variance across members of the final training loss against N (log-log) with its fitted power law"),
        ], result: CNNSchema.common + [
            OutputField("final_train_loss_mean", "list[float]", "as the widths.csv column"),
            OutputField("final_train_loss_se", "list[float]", "as the widths.csv column"),
            OutputField("final_train_loss_variance", "list[float]", "as the widths.csv column"),
            OutputField("final_train_loss_variance_se", "list[float]", "as the widths.csv column"),
            OutputField("log_loss_slope_per_epoch", "list[float]", "as the widths.csv column"),
            OutputField("log_loss_slope_per_epoch_se", "list[float]", "as the widths.csv column"),
            OutputField("bias_fit_coefficients", "list[float]", "c0, c1 (, c2) of the weighted least-squares fit c0 + c1/N (+ c2/N^2)", when: "at least fit_order + 2 widths"),
            OutputField("bias_fit_standard_errors", "list[float]", "their standard errors (known-error covariance (A^T W A)^-1)", when: "at least fit_order + 2 widths"),
            OutputField("bias_fit_chi_square", "float", "chi^2 of the fit", when: "at least fit_order + 2 widths"),
            OutputField("bias_fit_dof", "int", "its degrees of freedom (widths - coefficients)", when: "at least fit_order + 2 widths"),
            OutputField("variance_log_slope", "float", "b of log Var = a + b log N (b = -1 for O(1/N) fluctuations)", when: "at least 3 widths"),
            OutputField("variance_log_slope_se", "float", "its standard error", when: "at least 3 widths"),
        ])
    }
}
