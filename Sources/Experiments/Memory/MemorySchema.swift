/// The files written by the `solvable memory` commands (see `OutputSchema`): long-sequence Hopfield memory
/// (Chaudhry, Zavatone-Veth, Krotov & Pehlevan, NeurIPS 2023). Overlaps m^mu = xi^mu . S / N lie in [-1, 1];
/// capacities count patterns P.
enum MemorySchema {
    static let overlapAxes: [OutputAxis] = [
        OutputAxis("t", "update step t = 0, ..., steps (t = 0 is the start state)"),
        OutputAxis("mu", "stored pattern mu = 1, ..., P (index 0 is xi^1)"),
    ]
}

extension MemorySimulateTask: DocumentedOutputs {
    public static var outputs: OutputDeclaration {
        OutputDeclaration(axes: MemorySchema.overlapAxes, files: [
            .csv("recall", "recall of the stored sequence, one row per update step", columns: [
                OutputField("step", "float", "update step t"),
                OutputField("recall_errors", "float", "bits of S(t) differing from the expected pattern xi^{(t mod P)+1} (open boundary: the last pattern once reached)", units: "bits"),
                OutputField("overlap_expected", "float", "overlap m = xi . S(t) / N with the expected pattern, in [-1, 1]"),
            ]),
            .npy("overlaps", axes: ["t", "mu"], units: "m^mu(t) = xi^mu . S(t) / N, in [-1, 1]", "overlap of the state with every stored pattern at every step"),
            .svg("overlaps", "overlaps m^mu(t) of the first 8 patterns"),
            .svg("errors", "recall errors against t"),
            .csv("basin", "basin of attraction: recall from corrupted starts", when: "with --basin-flips", columns: [
                OutputField("flip_fraction", "float", "fraction of the bits of xi^1 flipped in the start state"),
                OutputField("recalled_fraction", "float", "fraction of random sequences recalled"),
                OutputField("wilson_lower", "float", "lower end of the Wilson 95 % interval"),
                OutputField("wilson_upper", "float", "upper end of the Wilson 95 % interval"),
            ]),
            .svg("basin", "recalled fraction against flipped fraction", when: "with --basin-flips"),
        ], result: [
            OutputField("network", "string", "dense, gpi, circuit or mixed"),
            OutputField("separation", "string", "separation function f"),
            OutputField("neurons", "int", "N"),
            OutputField("patterns", "int", "P"),
            OutputField("steps", "int", "updates run"),
            OutputField("first_step_off_sequence", "int or null", "first step whose state differs from the expected pattern (null: never)"),
            OutputField("final_recall_errors", "int", "bits wrong at the last step", units: "bits"),
            OutputField("steps_exactly_on_sequence", "int", "steps at which the state equals the expected pattern"),
            OutputField("transitions_checked", "int", "transitions xi^mu -> xi^{mu+1} checked in bulk", when: "unless a pseudoinverse network stores more patterns than neurons"),
            OutputField("transitions_failed", "int", "transitions that fail", when: "unless a pseudoinverse network stores more patterns than neurons"),
            OutputField("circuit_matches_densenet", "bool", "the hidden-neuron circuit's trajectory equals the DenseNet's bit for bit", when: "with --network circuit"),
            OutputField("basin", "list[object]", "per flip fraction: flip, recalled", when: "with --basin-flips"),
        ])
    }
}

extension MemoryCapacityTask: DocumentedOutputs {
    public static var outputs: OutputDeclaration {
        let optional = "empty where it does not apply"
        return OutputDeclaration(files: [
            .csv("capacity", "P_50 capacity against N: simulation next to theory, one row per (model, criterion, N)", columns: [
                OutputField("model", "string", "network, e.g. SeqNet, DenseNet d=2, exponential DenseNet"),
                OutputField("criterion", "string", "sequence (every transition recalled) or transition (the designated one)"),
                OutputField("neurons", "float", "N"),
                OutputField("p50", "float", "simulated P_50: log-interpolated P at which half of the trials are recalled", units: "patterns"),
                OutputField("p_low", "float", "largest P found with success fraction >= 1/2", units: "patterns"),
                OutputField("p_high", "float", "the P above it in the search (success fraction < 1/2)", units: "patterns"),
                OutputField("interval_lower", "float", "interval of P_50 from the Clopper-Pearson 95 % bounds: largest P whose lower bound exceeds 1/2", units: "patterns"),
                OutputField("interval_upper", "float", "smallest P whose upper bound is below 1/2 (inf when none)", units: "patterns"),
                OutputField("finite_n_prediction", "float", "Gaussian finite-N prediction with the exact crosstalk variance", units: "patterns"),
                OutputField("near_duplicate", "float or empty", "exponential network: near-duplicate limit sqrt(2 ln2 2^N / (1 + N/2)); " + optional, units: "patterns"),
                OutputField("near_duplicate_plus_gaussian", "float or empty", "exponential network: near-duplicate and Gaussian hazards combined; " + optional, units: "patterns"),
                OutputField("finite_n_exact_seqnet", "float or empty", "SeqNet: prediction with the exact binomial bit-error probability; " + optional, units: "patterns"),
                OutputField("finite_n_quenched_seqnet", "float or empty", "SeqNet: quenched-overlap prediction; " + optional, units: "patterns"),
                OutputField("finite_n_kurtosis_corrected", "float or empty", "d >= 2: Gaussian prediction with the Edgeworth kurtosis correction; " + optional, units: "patterns"),
                OutputField("prediction", "float", "the prediction compared with simulation (near-duplicate, exact SeqNet, else Gaussian)", units: "patterns"),
                OutputField("best_prediction", "float", "the best available prediction (kurtosis-corrected or quenched where they apply)", units: "patterns"),
                OutputField("best_prediction_inside_interval", "float", "1 when best_prediction lies in the 95 % interval, else 0"),
                OutputField("leading_order", "float", "leading-order capacity law in N", units: "patterns"),
                OutputField("prediction_inside_interval", "float", "1 when prediction lies in the 95 % interval, else 0"),
                OutputField("trials", "float", "random sequences per evaluated P"),
                OutputField("seconds", "float", "wall time of the search", units: "s"),
                OutputField("capped", "float", "1 when the search hit --max-patterns before bracketing P_50 (p50 is then a lower bound)"),
            ]),
            .csv("capacity_points", "every evaluated P of every search", columns: [
                OutputField("model", "string", "network"),
                OutputField("criterion", "string", "sequence or transition"),
                OutputField("neurons", "float", "N"),
                OutputField("patterns", "float", "P evaluated"),
                OutputField("success_fraction", "float", "fraction of trials recalled"),
                OutputField("cp_lower", "float", "Clopper-Pearson 95 % lower bound of the success probability"),
                OutputField("cp_upper", "float", "Clopper-Pearson 95 % upper bound"),
            ]),
            .svg("capacity_{criterion}", "P_50 against N (log-log) for criterion sequence or transition: simulation with intervals, finite-N theory, leading order"),
        ], result: [
            OutputField("rows", "list[object]", "per (model, criterion, N): p50, interval, finite_n_prediction, prediction, best_prediction, leading_order, ... (as capacity.csv)"),
            OutputField("scaling_exponents", "list[object]", "per (model, criterion): log-log slope of P_50 against N and its standard error"),
            OutputField("trials", "int", "trials per evaluated P"),
            OutputField("seed", "int", "base seed"),
        ])
    }
}

extension MemoryTimingTask: DocumentedOutputs {
    public static var outputs: OutputDeclaration {
        OutputDeclaration(axes: MemorySchema.overlapAxes, files: [
            .csv("dwell", "the patterns visited and how long the network stayed on each", columns: [
                OutputField("visit", "float", "visit index"),
                OutputField("pattern", "float", "pattern mu = 1, ..., P visited (0: off every pattern)"),
                OutputField("dwell", "float", "steps spent on it", units: "steps"),
                OutputField("rule", "string", "dwell time of the dwell rule (crosstalk neglected), or none", units: "steps"),
            ]),
            .npy("overlaps", axes: ["t", "mu"], units: "m^mu(t) = xi^mu . S(t) / N (self-inclusive), in [-1, 1]", "overlap with every stored pattern at every step"),
            .svg("overlaps", "overlaps of the first 6 patterns against t"),
        ], result: [
            OutputField("visits", "list[object]", "per visit: pattern (1-based, 0 off-pattern), dwell, rule"),
            OutputField("order_correct", "bool", "patterns visited in sequence order"),
            OutputField("off_pattern_steps", "int", "steps on no stored pattern"),
            OutputField("rule_sufficient_condition", "bool", "lambda > 1 and d_A > ln lambda / ln(tau/(tau-1)): the dwell is exactly tau"),
        ])
    }
}

extension MemoryCompareTask: DocumentedOutputs {
    public static var outputs: OutputDeclaration {
        OutputDeclaration(files: [
            .csv("compare", "recall success of the Hebbian DenseNet and the generalized pseudoinverse rule, one row per (d, correlation)", columns: [
                OutputField("degree", "float", "degree d"),
                OutputField("correlation", "float", "bias eps or template similarity rho"),
                OutputField("hebbian_success", "float", "fraction of sequences recalled by the Hebbian DenseNet"),
                OutputField("gpi_success", "float", "fraction recalled by the generalized pseudoinverse rule"),
                OutputField("full_rank_fraction", "float", "fraction of draws whose overlap matrix has rank P"),
                OutputField("bias_bound_allows", "float", "1 when P < eps^-(2d+1) + 1 (the Hebbian rule's necessary condition)"),
            ]),
            .svg("compare", "recall success against correlation"),
        ], result: [
            OutputField("rows", "list[object]", "per (degree, correlation): hebbian_success, gpi_success, bias_bound_allows"),
        ])
    }
}
