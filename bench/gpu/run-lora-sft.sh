#!/usr/bin/env bash
# LoRA SFT benchmark on a GPU machine that has PyTorch (CUDA), transformers and PEFT for python3 but no .NET and no
# network (see bench/README.md, section 4). Two steps:
#
#   bench/gpu/run-lora-sft.sh prepare   # here, with the .NET 10 SDK: publishes the bench without the CPU libtorch
#                                        # into bench/gpu/bench.tar.xz and packs the .NET runtime into
#                                        # bench/gpu/dotnet.tar.xz (both git-ignored; together under 64 MiB)
#   bench/gpu/run-lora-sft.sh run [OUTDIR] [extra lora-sft options]
#                                        # there, from the repository root with those two carried along: unpacks the
#                                        # runtime, lets the worker find PyTorch's CUDA libtorch through python3, runs
#                                        # every shape and size on both sides and writes OUTDIR/lora-sft.md and .json
set -euo pipefail
cd "$(dirname "$0")/../.."
here=bench/gpu

case "${1:-}" in
  prepare)
    rm -rf "$here/out"
    # -p:DeepXPublishLibTorchCpu=false: the GPU machine loads PyTorch's libtorch; the bundled CPU one is ~460 MB.
    dotnet publish bench/DeepExtension.Bench -c Release -r linux-x64 --self-contained false \
      -p:DeepXPublishLibTorchCpu=false -o "$here/out"
    # Not used by the benchmark: the Azure AD broker of SqlClient (37 MB) and debug symbols.
    rm -f "$here"/out/libmsalruntime*.so "$here"/out/*.pdb
    tar -C "$here/out" -cJf "$here/bench.tar.xz" .
    rm -rf "$here/out"
    sdk_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
    tar -C "$sdk_root" -cJf "$here/dotnet.tar.xz" dotnet host shared/Microsoft.NETCore.App shared/Microsoft.AspNetCore.App
    du -sh "$here/bench.tar.xz" "$here/dotnet.tar.xz"
    ;;
  run)
    out=${2:-${OUT:-$here/results}}
    shift $(( $# >= 2 ? 2 : 1 ))
    mkdir -p "$out"
    bench=${TMPDIR:-/tmp}/deepx-bench
    rm -rf "$bench" && mkdir -p "$bench"
    tar -C "$bench" -xJf "$here/bench.tar.xz"
    if ! command -v dotnet >/dev/null; then
      export DOTNET_ROOT=${TMPDIR:-/tmp}/deepx-dotnet
      mkdir -p "$DOTNET_ROOT"
      tar -C "$DOTNET_ROOT" -xJf "$here/dotnet.tar.xz"
      export PATH="$DOTNET_ROOT:$PATH"
    fi
    nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv || true
    python3 -c "import torch, transformers, peft; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__, 'peft', peft.__version__)"
    # The worker's own discovery (python3's torch/lib) picks the CUDA libtorch; print what it loads first.
    dotnet "$bench/DeepExtension.Jobs.dll" devices | tee "$out/devices.json" || true
    dotnet "$bench/DeepExtension.Bench.dll" lora-sft --device cuda --json-out "$out/lora-sft.json" "$@" | tee "$out/lora-sft.md"
    ;;
  *)
    sed -n '2,13p' "$0"
    exit 2
    ;;
esac
