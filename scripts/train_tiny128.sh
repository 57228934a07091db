#!/usr/bin/env bash
# Train the shipped tiny128 model (v4) and its ablations, then export it in fp16 into the package
# (docs/tiny-model.md). Every step resumes where it stopped (`--resume latest`, a finished run is
# skipped): run the script again after a crash. Runs and data live outside the checkout.
#
#   bash scripts/train_tiny128.sh [RUNS]              from nothing: v1 (VAE, decoder, stage 1), then v4
#   START=v1-shipped bash scripts/train_tiny128.sh [RUNS]
#       v4 from the v1 model shipped in commit $V1_COMMIT (the start of the v2 run of 2026-12-04): its
#       VAE and its stage-1 weights (in fp16; stage 2 never changed them), so v1's 1.5 h are skipped
#
# RUNS defaults to ../runs/tiny128 beside the checkout; THREADS (default 2) torch threads per run.
# On a machine with a GPU the same commands train there (accelerate picks the device).
set -euo pipefail

main() {  # the whole script is read before it runs, so editing the file cannot disturb a run
  cd "$(dirname "$0")/.."
  export HF_HUB_OFFLINE=1
  aa=$PWD/.venv/bin/animate-anyone
  runs=$(realpath -m "${1:-../runs/tiny128}")
  threads=${THREADS:-2}
  start=${START:-nothing}
  V1_COMMIT=6297a3bc3769a5b46e22318f9f0f47683bf5409f  # "Ship the trained tiny128 model" (v1)
  mkdir -p "$runs"

  last_checkpoint() { echo "$runs/$1/checkpoints/checkpoint-$(printf %07d "$2")"; }
  steps_of() { sed -n 's/^  max_steps: *\([0-9]*\).*/\1/p' "$1"; }
  train() {  # train OUTPUT_NAME CONFIG THREADS [key=value ...]; skipped when its last checkpoint exists
    local name=$1 config=$2 n=$3; shift 3
    if [ -d "$(last_checkpoint "$name" "$(steps_of "$config")")" ]; then echo "$name: done"; return; fi
    mkdir -p "$runs/$name"
    echo "$name: training ($(date -u +%H:%M) UTC), log $runs/$name/train.log"
    OMP_NUM_THREADS=$n $aa train --config "$config" output_dir="$runs/$name" data.root="$runs/data/synth-train" \
      "$@" --resume latest >> "$runs/$name/train.log" 2>&1
    echo "$name: trained to step $(steps_of "$config") ($(date -u +%H:%M) UTC)"
  }

  # data: train seeds 0..399 (the benchmark renders its held-out test seeds itself)
  [ -d "$runs/data/synth-train" ] || $aa data synth --output "$runs/data/synth-train" --characters 400 --frames 48 --size 128x128

  if [ "$start" = v1-shipped ]; then
    v1=$runs/v1-shipped
    if [ ! -d "$v1" ]; then
      mkdir -p "$v1.tmp" && git archive "$V1_COMMIT" src/animate_anyone/shipped_model/tiny128 | tar -x -C "$v1.tmp"
      mv "$v1.tmp/src/animate_anyone/shipped_model/tiny128" "$v1" && rm -rf "$v1.tmp"
    fi
    vae=$v1/vae decoder=$v1/vae base=$v1  # the decoder-tuned VAE: the same encoder, so the same latents
  else
    [ "$start" = nothing ] || { echo "START must be nothing or v1-shipped, got $start" >&2; exit 2; }
    # v1's steps: VAE, then its decoder fine-tune beside stage 1 (one thread each); with today's loss
    # weighting, so not bit-identical with the weights of $V1_COMMIT
    train tiny128-vae configs/tiny128-vae.yaml "$threads"
    vae=$(last_checkpoint tiny128-vae 1500)/vae
    train tiny128-vae-decoder configs/tiny128-vae-decoder.yaml 1 model.vae_path="$vae" & decoder_job=$!
    train tiny128-stage1 configs/tiny128-stage1.yaml 1 model.vae_path="$vae"
    wait $decoder_job
    decoder=$(last_checkpoint tiny128-vae-decoder 3000)/vae base=$(last_checkpoint tiny128-stage1 3000)/pipeline
  fi

  # v4: stage 1 continued from v1's stage 1 (v2's), extended (v3's), extended again, then stage 2 (motion
  # modules), one run at a time on all threads
  s1=configs/tiny128-stage1-continued.yaml s1x=configs/tiny128-stage1-extended.yaml
  s1xx=configs/tiny128-stage1-extended2.yaml s2=configs/tiny128-stage2.yaml
  train tiny128-stage1-continued $s1 "$threads" model.path="$base" model.vae_path="$vae"
  train tiny128-stage1-extended $s1x "$threads" \
    model.path="$(last_checkpoint tiny128-stage1-continued "$(steps_of $s1)")/pipeline"
  train tiny128-stage1-extended2 $s1xx "$threads" \
    model.path="$(last_checkpoint tiny128-stage1-extended "$(steps_of $s1x)")/pipeline"
  stage1=$(last_checkpoint tiny128-stage1-extended2 "$(steps_of $s1xx)")/pipeline
  train tiny128-stage2 $s2 "$threads" model.path="$stage1"

  # the shipped model: stage 2 with the fine-tuned decoder, in fp16
  shipped=src/animate_anyone/shipped_model/tiny128
  rm -rf "$shipped"; mkdir -p "$(dirname "$shipped")"
  $aa convert --from pipeline "$(last_checkpoint tiny128-stage2 "$(steps_of $s2)")/pipeline" \
    --vae "$decoder" --dtype fp16 --output "$shipped"
  # the configs name the folders they were loaded from: keep the last two parts, not this machine's paths
  sed -i -E 's#"_name_or_path": "[^"]*/([^/"]+/[^/"]+)"#"_name_or_path": "\1"#' "$shipped"/*/config.json
  # the settings `animate`, `demo` and the web page use with it: UniPC at 8 steps, the fewest within 2 % of
  # 25 DDIM steps on the held-out benchmark (docs/benchmarks.md), guidance 2
  printf '{\n "width": 128,\n "height": 128,\n "num_inference_steps": 8,\n "guidance_scale": 2.0,\n "scheduler": "unipc"\n}\n' \
    > "$shipped/generation_defaults.json"
  echo "shipped: $shipped"

  # ablation (b), no ReferenceNet: the same start without it (ablation (c), stage 1 only, is $stage1)
  train tiny128-noref-stage1-continued $s1 "$threads" model.path="$base" model.vae_path="$vae" model.use_reference_net=false
  # v2's recipe (no stage-1 extensions: the sessions that trained v3 and v4 had no time left for them;
  # docs/tiny-model.md)
  train tiny128-noref-stage2 $s2 "$threads" model.use_reference_net=false \
    model.path="$(last_checkpoint tiny128-noref-stage1-continued "$(steps_of $s1)")/pipeline"
}

main "$@"
