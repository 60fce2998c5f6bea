"""The ``laborflow`` console script: above the model, the experiments and the views."""
