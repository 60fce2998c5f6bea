"""Many runs of the model: designs, executors, the result store, sweeps, comparisons,
sensitivity, discovery and validation. Imports ``model``; never ``viz`` or ``cli``."""
