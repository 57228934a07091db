"""Training: one trainer for both stages (DESIGN §5), driven by `TrainConfig`."""
