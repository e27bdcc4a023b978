// The `Solvable` library product: one import for every model and the experiment layer.
@_exported import LinearAlgebra
@_exported import NumericalCore
@_exported import StructuredFeatures
@_exported import SequenceMemory
@_exported import MeanFieldDynamics
@_exported import FiniteWidthFluctuations
@_exported import Experiments
