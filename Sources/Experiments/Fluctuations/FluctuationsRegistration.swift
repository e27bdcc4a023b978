/// The Fluctuations model's compute commands (`solvable fluctuations <verb>`) and report figures.
public enum FluctuationsRegistration {
    public static let tasks: [any ComputeTask.Type] = []
    public static let figures: [FigureSpec] = []
}
