/// The Memory model's compute commands (`solvable memory <verb>`) and report figures.
public enum MemoryRegistration {
    public static let tasks: [any ComputeTask.Type] = [MemorySimulateTask.self, MemoryCapacityTask.self, MemoryTimingTask.self, MemoryCompareTask.self]
    public static let figures: [FigureSpec] = MemoryFigures.all
}
