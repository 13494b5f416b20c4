#!/usr/bin/env bash
# Runs the tests written over "every folder of DEEPX_REFERENCE_MODELS" against a variant of the bundled
# reference set: other folder names, weights sharded into several files with model.safetensors.index.json.
# Usage (from anywhere): tools/reference-variant/run-engine-tests.sh [VARIANT_DIRECTORY] [extra dotnet test args]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
variant="${1:-$(mktemp -d)/reference-variant}"
shift || true
rm -rf "$variant"
dotnet run --project "$root/tools/reference-variant" -- "$root/DeepExtension.Tests/TestData/reference-models" "$variant"
ls "$variant"/*/
dotnet build "$root/DeepExtension.Tests"
DEEPX_REFERENCE_MODELS="$variant" dotnet test "$root/DeepExtension.Tests" --no-build \
  --filter "FullyQualifiedName~DeepExtension.Tests.Engine|FullyQualifiedName~DeepExtension.Tests.Core.ModelCardReaderTests|FullyQualifiedName~DeepExtension.Tests.Support|FullyQualifiedName~DeepExtension.Tests.Runs" "$@"
