/// The Features model's compute commands (`solvable features <verb>`) and report figures.
public enum FeaturesRegistration {
    public static let tasks: [any ComputeTask.Type] = [FeaturesTheoryTask.self, FeaturesSimulateTask.self, FeaturesCompareTask.self]
    public static let figures: [FigureSpec] = FeaturesFigures.all
}
