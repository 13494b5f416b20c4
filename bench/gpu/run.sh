#!/usr/bin/env bash
# Every GPU check of issue 10 in one call, for a GPU machine that has PyTorch (CUDA), transformers and PEFT for
# python3 but no .NET and no network (see bench/README.md, section 4). Two steps:
#
#   bench/gpu/run.sh prepare    # here, with the .NET 10 SDK: publishes the bench and the console without the CPU
#                               # libtorch into bench/gpu/bench.tar.xz and bench/gpu/web.tar.xz, and packs the .NET
#                               # runtime into bench/gpu/dotnet.tar.xz (all git-ignored; together under 64 MiB)
#   bench/gpu/run.sh run [OUTDIR] [extra lora-sft options]
#                               # there, from the repository root with those three carried along. In order:
#                               # 1. devices: what the worker loads (PyTorch's CUDA libtorch, found through python3)
#                               # 2. parity: the engine against transformers/PEFT's references on cuda, fp32 and bf16
#                               # 3. console: a console on loopback, a train started over the HTTP API with device
#                               #    cuda, polled to the end; its log must name the GPU
#                               # 4. lora-sft: every shape and size, this engine and transformers + PEFT
#                               # 5. memory: the console's memory estimate against measured peaks on the GPU
#                               # Writes OUTDIR/{run.log,devices.json,parity.md,console.log,train-log.jsonl,lora-sft.md,lora-sft.json,memory.md}.
#   STEPS="parity console" bench/gpu/run.sh run ...   runs only those steps (default: all five).
#   lora-sft's whole matrix (3 shapes × 3 sizes × checkpointing off/layer, 4 sides on the mixed size) is about 50
#   processes: split it over calls with --shapes/--sizes/--checkpointing after the options (one call is at most 10 min).
set -uo pipefail
cd "$(dirname "$0")/../.."
here=bench/gpu

case "${1:-}" in
  prepare)
    set -e
    rm -rf "$here/out" "$here/web"
    # -p:DeepXPublishLibTorchCpu=false: the GPU machine loads PyTorch's libtorch; the bundled CPU one is ~460 MB.
    dotnet publish bench/DeepExtension.Bench -c Release -r linux-x64 --self-contained false \
      -p:DeepXPublishLibTorchCpu=false -o "$here/out"
    dotnet publish DeepExtension.Web -c Release -r linux-x64 --self-contained false \
      -p:DeepXPublishLibTorchCpu=false -o "$here/web"
    # Not used on that machine: the Azure AD broker of SqlClient (37 MB), debug symbols, Playwright's driver (the
    # bench's compare-load drives a browser; 135 MB) and the satellite resources of other languages.
    for d in "$here/out" "$here/web"; do
      rm -rf "$d"/libmsalruntime*.so "$d"/*.pdb "$d/.playwright" "$d"/{cs,de,es,fr,it,ja,ko,pl,pt-BR,ru,tr,zh-Hans,zh-Hant}
    done
    tar -C "$here/out" -cJf "$here/bench.tar.xz" .
    tar -C "$here/web" -cJf "$here/web.tar.xz" .
    rm -rf "$here/out" "$here/web"
    sdk_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
    tar -C "$sdk_root" -cJf "$here/dotnet.tar.xz" dotnet host shared/Microsoft.NETCore.App shared/Microsoft.AspNetCore.App
    du -sh "$here"/*.tar.xz
    ;;
  run)
    out=${2:-${OUT:-$here/results}}
    shift $(( $# >= 2 ? 2 : 1 ))
    steps=${STEPS:-devices parity console lora-sft memory}
    device=${DEVICE:-cuda}   # DEVICE=cpu: a harness check on a machine without a GPU
    mkdir -p "$out"
    exec > >(tee -a "$out/run.log") 2>&1
    tmp=${TMPDIR:-/tmp}
    bench=$tmp/deepx-bench web=$tmp/deepx-web
    rm -rf "$bench" "$web" && mkdir -p "$bench" "$web"
    tar -C "$bench" -xJf "$here/bench.tar.xz"
    tar -C "$web" -xJf "$here/web.tar.xz"
    if ! command -v dotnet >/dev/null; then
      export DOTNET_ROOT=$tmp/deepx-dotnet
      mkdir -p "$DOTNET_ROOT"
      tar -C "$DOTNET_ROOT" -xJf "$here/dotnet.tar.xz"
      export PATH="$DOTNET_ROOT:$PATH"
    fi
    date -u
    nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv || true
    python3 -c "import torch, transformers, peft; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__, 'peft', peft.__version__)"
    status=0
    for step in $steps; do
      echo "=== $step ($(date -u +%T))"
      case $step in
        devices) timeout 60 dotnet "$bench/DeepExtension.Jobs.dll" devices | tee "$out/devices.json" || status=1 ;;
        parity) timeout 120 dotnet "$bench/DeepExtension.Bench.dll" parity --device "$device" | tee "$out/parity.md" || status=1 ;;
        console) DEVICE=$device timeout 300 bash "$here/console-train.sh" "$web" "$out" || status=1 ;;
        lora-sft) timeout "${LORA_SFT_TIMEOUT:-430}" dotnet "$bench/DeepExtension.Bench.dll" lora-sft --device "$device" --json-out "$out/lora-sft.json" "$@" | tee "$out/lora-sft.md" || status=1 ;;
        memory) timeout "${MEMORY_TIMEOUT:-300}" dotnet "$bench/DeepExtension.Bench.dll" memory-estimate --device "$device" \
                  --shapes "${MEMORY_SHAPES:-qwen2.5-0.5b,llama-3.2-1b,qwen2.5-1.5b}" --sizes "${MEMORY_SIZES:-8x512,4x2048}" | tee "$out/memory.md" || status=1 ;;
      esac
    done
    echo "=== done ($(date -u +%T)), status $status"
    exit $status
    ;;
  *)
    sed -n '2,17p' "$0"
    exit 2
    ;;
esac
