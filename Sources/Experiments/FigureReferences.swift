/// The papers Solvable reproduces and, for every report figure, the paper figure it corresponds to: each
/// caption in the report cites the paper (with its DOI), that figure and the command that redraws it, and the
/// report ends with a BibTeX block of the papers.
public struct Paper: Sendable {
    public let key: String
    public let authors: String
    public let title: String
    public let venue: String
    public let year: Int
    public let arXiv: String
    /// arXiv's DOI (10.48550/arXiv.ID); the NeurIPS proceedings carry no DOI.
    public var doi: String { "10.48550/arXiv.\(arXiv)" }

    /// "Authors, Title, Venue Year, doi:…".
    public var citation: String { "\(authors), “\(title)”, \(venue) \(year), doi:\(doi) (arXiv:\(arXiv))" }

    public var bibTeX: String {
        """
        @inproceedings{\(key),
          author    = {\(authors.replacingOccurrences(of: ", ", with: " and ").replacingOccurrences(of: " & ", with: " and "))},
          title     = {\(title)},
          booktitle = {Advances in Neural Information Processing Systems},
          volume    = {\(year == 2022 ? 35 : 36)},
          year      = {\(year)},
          doi       = {\(doi)},
          eprint    = {\(arXiv)},
          archivePrefix = {arXiv}
        }
        """
    }

    public static let structuredFeatures = Paper(
        key: "zavatoneveth2023learning", authors: "Jacob A. Zavatone-Veth & Cengiz Pehlevan",
        title: "Learning curves for deep structured Gaussian feature models", venue: "NeurIPS", year: 2023, arXiv: "2303.00564")
    public static let sequenceMemory = Paper(
        key: "chaudhry2023long", authors: "Hamza Tahir Chaudhry, Jacob A. Zavatone-Veth, Dmitry Krotov & Cengiz Pehlevan",
        title: "Long sequence Hopfield memory", venue: "NeurIPS", year: 2023, arXiv: "2306.04532")
    public static let dmft = Paper(
        key: "bordelon2022selfconsistent", authors: "Blake Bordelon & Cengiz Pehlevan",
        title: "Self-consistent dynamical field theory of kernel evolution in wide neural networks", venue: "NeurIPS", year: 2022, arXiv: "2205.09653")
    public static let fluctuations = Paper(
        key: "bordelon2023dynamics", authors: "Blake Bordelon & Cengiz Pehlevan",
        title: "Dynamics of finite width kernel and prediction fluctuations in mean field neural networks", venue: "NeurIPS", year: 2023, arXiv: "2304.03408")

    public static let all = [structuredFeatures, sequenceMemory, dmft, fluctuations]

    /// The paper of a report figure's model ("features", "memory", "dmft", "fluctuations"); nil for "core".
    public static func of(model: String) -> Paper? {
        switch model {
        case "features": structuredFeatures
        case "memory": sequenceMemory
        case "dmft": dmft
        case "fluctuations": fluctuations
        default: nil
        }
    }
}

/// What a report figure corresponds to in its paper (a figure number where the figure reproduces one, else the
/// result it checks), and the command that redraws it.
public enum FigureReferences {
    static let correspondence: [String: String] = [
        "core-quadrature": "no paper figure: a check of the Gauss-Hermite quadrature every DMFT solver uses",
        "features-isotropic-depth": "the isotropic learning curves with a peak at the narrowest width only (the paper's isotropic deep-feature figures)",
        "features-first-layer-alignment": "the first-layer structure figure (a spike along the target helps; Σ1 = Σ0^p on power-law data)",
        "features-later-layer-anisotropy": "the later-layer structure figure (anisotropy in later layers hurts; isotropy is optimal)",
        "features-power-law-scaling": "the power-law scaling results (ε_g ∝ P^-a and N^-a, P ↔ N duality)",
        "memory-capacity": "Fig. 2A (capacity vs N, polynomial DenseNets) and Fig. F.2 (exponential DenseNet)",
        "memory-correlated": "Fig. 3B (biased patterns: DenseNet vs generalized pseudoinverse)",
        "memory-timing": "Fig. 4A (MixedNet with delay τ: variable timing)",
        "memory-circuit": "the biologically plausible two-layer circuit (Section 5)",
        "dmft-deep-tanh": "Fig. 1 (deep tanh network: DMFT vs networks; kernels Φ and G)",
        "dmft-deep-linear-depth": "Fig. 2 (deep linear networks, L = 2..5; Fig. 2c kernel movement per layer)",
        "dmft-approximations": "Fig. 3 (full DMFT vs gradient independence, perturbation theory and the static NTK)",
        "dmft-two-layer-relu": "the appendix's two-layer ReLU figure (γ₀ = 0.2 ... 3)",
        "fluctuations-lazy": "the lazy-limit universal prediction variance (Section 4)",
        "fluctuations-two-layer": "the two-layer rich-regime figure (feature learning reduces kernel and prediction variance)",
        "fluctuations-width-scaling": "the width sweep: the squared deviation from the DMFT scales as 1/N",
        "fluctuations-depth-init": "the deep-network initialization figure (variance accumulates with depth)",
        "fluctuations-edge-of-stability": "the large-learning-rate (edge of stability, catapult) figure",
        "fluctuations-online": "the online-learning figure (initialization variance slows learning as D/N grows)",
        "fluctuations-deep-linear": "the trained deep linear network figure (kernel variance accumulates; signal-to-noise improves)",
    ]

    /// The command that reproduces figure `name` at `scale` into OUT.
    public static func command(_ name: String, scale: Scale, seed: UInt64 = 0) -> String {
        "solvable reproduce --figure \(name)" + (scale == .quick ? "" : " --scale \(scale.rawValue)") + (seed == 0 ? "" : " --seed \(seed)") + " --out OUT"
    }

    /// The caption's citation sentence: paper with DOI, corresponding figure, commands.
    public static func citation(figure name: String, model: String, scale: Scale, seed: UInt64 = 0) -> String {
        var s = ""
        if let p = Paper.of(model: model) {
            s += "Paper: \(p.citation). Corresponds to: \(correspondence[name] ?? "see the figure's title")."
        } else {
            s += (correspondence[name].map { "Corresponds to: \($0)." } ?? "")
        }
        s += " Reproduce: \(command(name, scale: scale, seed: seed)); redraw from the data: python3 OUT/plot_\(name).py."
        return s
    }
}
