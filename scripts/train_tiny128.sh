#!/usr/bin/env bash
# Train the shipped tiny128 model and its ablation from nothing (docs/tiny-model.md), then export it
# in fp16 into the package. Every step resumes where it stopped: run the script again after a crash.
#   bash scripts/train_tiny128.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
aa=.venv/bin/animate-anyone

last_checkpoint() { echo "outputs/$1/checkpoints/checkpoint-$(printf %07d "$2")"; }
train() {  # train OUTPUT_NAME CONFIG THREADS [key=value ...]; skipped when its last checkpoint exists
  local name=$1 config=$2 threads=$3; shift 3
  local steps; steps=$(sed -n 's/^  max_steps: *\([0-9]*\).*/\1/p' "$config")
  if [ -d "$(last_checkpoint "$name" "$steps")" ]; then echo "$name: done"; return; fi
  mkdir -p outputs/$name
  OMP_NUM_THREADS=$threads $aa train --config "$config" output_dir=outputs/$name "$@" --resume latest \
    > "outputs/$name/train.log" 2>&1
  echo "$name: trained to step $steps"
}

# data: train seeds 0..399 (the benchmark renders its held-out test seeds itself)
[ -d data/synth-train ] || $aa data synth --output data/synth-train --characters 400 --frames 48 --size 128x128

train tiny128-vae configs/tiny128-vae.yaml 2
vae=$(last_checkpoint tiny128-vae 1500)/vae

# beside each other, one thread each: the model's stage 1, its no-ReferenceNet ablation, and the VAE's
# decoder fine-tune (encoder frozen: the latents the diffusion stages learn stay the same)
train tiny128-vae-decoder configs/tiny128-vae-decoder.yaml 1 model.vae_path=$vae & decoder=$!
train tiny128-stage1 configs/tiny128-stage1.yaml 1 model.vae_path=$vae & full=$!
train tiny128-noref-stage1 configs/tiny128-stage1.yaml 1 model.vae_path=$vae model.use_reference_net=false & noref=$!
wait $full; wait $noref
train tiny128-stage2 configs/tiny128-stage2.yaml 1 model.path=$(last_checkpoint tiny128-stage1 3000)/pipeline & full=$!
train tiny128-noref-stage2 configs/tiny128-stage2.yaml 1 model.use_reference_net=false \
  model.path=$(last_checkpoint tiny128-noref-stage1 3000)/pipeline & noref=$!
wait $full; wait $noref; wait $decoder

# the shipped model: stage 2 with the fine-tuned decoder, in fp16
shipped=src/animate_anyone/shipped_model/tiny128
rm -rf "$shipped"; mkdir -p "$(dirname "$shipped")"
$aa convert --from pipeline "$(last_checkpoint tiny128-stage2 600)/pipeline" \
  --vae "$(last_checkpoint tiny128-vae-decoder 3000)/vae" --dtype fp16 --output "$shipped"
