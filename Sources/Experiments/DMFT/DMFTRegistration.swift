/// The DMFT model's compute commands (`solvable dmft <verb>`) and report figures.
public enum DMFTRegistration {
    public static let tasks: [any ComputeTask.Type] = [DMFTSolveTask.self, DMFTApproxTask.self, DMFTTrainTask.self, DMFTCompareTask.self, DMFTCNNTask.self]
    public static let figures: [FigureSpec] = DMFTFigures.all + [CNNFigures.dmft]
}
