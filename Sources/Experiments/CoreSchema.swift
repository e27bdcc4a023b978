/// The files written by `solvable core quadrature` (see `OutputSchema`).
extension QuadratureCheckTask: DocumentedOutputs {
    public static var outputs: OutputDeclaration {
        OutputDeclaration(files: [
            .csv("quadrature", "E[tanh(g z)^2], z ~ N(0, 1), by Gauss-Hermite quadrature and by Monte Carlo, one row per gain", columns: [
                OutputField("gain", "float", "gain g"),
                OutputField("quadrature", "float", "Gauss-Hermite value with --order nodes"),
                OutputField("monte_carlo", "float", "Monte Carlo mean over --samples draws"),
                OutputField("standard_error", "float", "standard error of the Monte Carlo mean"),
            ]),
            .svg("quadrature", "quadrature (line) against Monte Carlo (points with one standard error)"),
        ], result: [
            OutputField("gain", "list[float]", "gains"),
            OutputField("quadrature", "list[float]", "quadrature values"),
            OutputField("monte_carlo", "list[float]", "Monte Carlo means"),
            OutputField("standard_error", "list[float]", "their standard errors"),
        ])
    }
}
