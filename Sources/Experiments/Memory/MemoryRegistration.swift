/// The Memory model's compute commands (`solvable memory <verb>`) and report figures.
public enum MemoryRegistration {
    public static let tasks: [any ComputeTask.Type] = []
    public static let figures: [FigureSpec] = []
}
