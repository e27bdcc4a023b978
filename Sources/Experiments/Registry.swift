/// Every compute command and report figure of Solvable. Each model registers its own in
/// `Sources/Experiments/<Model>/Registration.swift`; this file only concatenates them.
public enum Registry {
    public static var tasks: [any ComputeTask.Type] {
        CoreTasks.tasks + FeaturesRegistration.tasks + MemoryRegistration.tasks + DMFTRegistration.tasks
            + FluctuationsRegistration.tasks
    }

    public static var figures: [FigureSpec] {
        CoreTasks.figures + FeaturesRegistration.figures + MemoryRegistration.figures + DMFTRegistration.figures
            + FluctuationsRegistration.figures
    }

    public static func task(_ path: [String]) -> (any ComputeTask.Type)? { tasks.first { $0.commandPath == path } }
    /// Commands a sweep spec may name: every compute command plus `reproduce figure` (one report figure per point).
    public static var sweepTasks: [any ComputeTask.Type] { tasks + [ReproduceFigureTask.self] }
    public static func sweepTask(_ path: [String]) -> (any ComputeTask.Type)? { sweepTasks.first { $0.commandPath == path } }
    public static func figure(_ name: String) -> FigureSpec? { figures.first { $0.name == name } }
}
