"""Training: one trainer for both stages (DESIGN §5) and the VAE stage, driven by `TrainConfig`."""
