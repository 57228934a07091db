"""The components of an Animate Anyone pipeline folder, known without importing the pipeline (diffusers)."""

COMPONENTS = ("vae", "image_encoder", "reference_net", "unet", "pose_guider", "scheduler")
# May be saved as None: the no-ReferenceNet ablation (CLIP conditioning only).
OPTIONAL_COMPONENTS = ("reference_net",)
