import LinearAlgebra
import NumericalCore

/// Long Sequence Hopfield Memory (Chaudhry, Zavatone-Veth, Krotov & Pehlevan, NeurIPS 2023; arXiv 2306.04532).
///
/// Spec: `docs/theory/sequence-memory.md`. Contents of this module:
/// * `PatternSet`: +-1 patterns, bit-packed (UInt64 words, XOR + popcount overlaps); random, biased, template, user.
/// * `Separation`: f(m) = m (SeqNet), m^d (polynomial DenseNet), exp((N-1)(m-1)) (exponential), user closure.
/// * `SequenceNetwork`: SeqNet / DenseNet / tau = 1 MixedNet / symmetric MHN fields with the two-value trick (docs/theory/sequence-memory.md §3).
/// * `PseudoinverseNetwork`: the generalized pseudoinverse rule (docs/theory/sequence-memory.md §2.2).
/// * `FilteredMixedNet`: the MixedNet with a boxcar-filtered asymmetric term (docs/theory/sequence-memory.md §2.3), per-pattern gains.
/// * `HiddenNeuronCircuit`: the two-layer circuit (docs/theory/sequence-memory.md §2.4).
/// * `CapacityTheory`, `CapacityEstimator`: docs/theory/sequence-memory.md §4-§6.
public enum SequenceMemory {
    public static let reference = "Chaudhry, Zavatone-Veth, Krotov & Pehlevan, Long Sequence Hopfield Memory, NeurIPS 2023 (arXiv 2306.04532)"
}
