/// The Fluctuations model's compute commands (`solvable fluctuations <verb>`) and report figures.
public enum FluctuationsRegistration {
    public static let tasks: [any ComputeTask.Type] = [FluctuationsTheoryTask.self, FluctuationsEnsembleTask.self, FluctuationsCompareTask.self, FluctuationsCNNTask.self]
    public static let figures: [FigureSpec] = FluctuationsFigures.all + [CNNFigures.fluctuations]
}
