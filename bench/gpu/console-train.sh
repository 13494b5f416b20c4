#!/usr/bin/env bash
# A console (published folder $1) on loopback with a fresh data root; a train of the bundled tiny-qwen2 on the sample
# chat dataset is started over the HTTP API with device "cuda" (as the README's API example does, with python3
# instead of jq) and polled to the end. Passes when the train succeeded and its log names a CUDA device.
# Writes $2/console.log and $2/train-log.jsonl.
set -euo pipefail
web=$1 out=$2
data=${TMPDIR:-/tmp}/deepx-console-data
rm -rf "$data" && mkdir -p "$data/models"
cp -r DeepExtension.Tests/TestData/reference-models/tiny-qwen2 "$data/models/tiny-qwen2"
rm -f "$data"/models/tiny-qwen2/reference.*
DEEPX=http://127.0.0.1:5080 EMAIL=admin@gpu.test PASSWORD='Admin-Passw0rd!'
DeepExtension__DataRoot=$data DeepExtension__Setup__AdminEmail=$EMAIL DeepExtension__Setup__AdminPassword=$PASSWORD \
  ASPNETCORE_URLS=$DEEPX dotnet "$web/DeepExtension.Web.dll" >"$out/console.log" 2>&1 &
console=$!
trap 'kill $console 2>/dev/null; wait $console 2>/dev/null' EXIT
for _ in $(seq 90); do curl -sf "$DEEPX/health/live" >/dev/null && break; sleep 1; done
json() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }
TOKEN=$(curl -sf -u "$EMAIL:$PASSWORD" -H 'Content-Type: application/json' -d '{"name": "gpu", "expiresInDays": 1}' \
  "$DEEPX/api/v1/tokens" | json 'd["token"]')
api() { curl -sf -H "Authorization: Bearer $TOKEN" "$@"; }
MODEL=$(api -H 'Content-Type: application/json' -d '{"technicalName": "tiny-qwen2", "modelName": "Tiny Qwen2", "path": "tiny-qwen2"}' \
  "$DEEPX/api/v1/base-models" | json 'd["id"]')
VERSION=$(api -F name=chat -F "file=@DeepExtension.Core/Datasets/Samples/chat.jsonl" "$DEEPX/api/v1/datasets" | json 'd["version"]["id"]')
METHOD=$(api "$DEEPX/api/v1/training-methods" | json 'next(m["id"] for m in d if m["isBuiltIn"] and m["algorithm"] == "Sft")')
LOCATION=$(api -o /dev/null -w '%header{location}' -H 'Content-Type: application/json' \
  -d "{\"name\": \"gpu-train\", \"baseModelId\": \"$MODEL\", \"datasetVersionId\": \"$VERSION\", \"methodId\": \"$METHOD\",
       \"parameters\": {\"num_epochs\": 2, \"max_tokens\": 128}, \"device\": \"${DEVICE:-cuda}\"}" "$DEEPX/api/v1/trains")
echo "started $LOCATION"
while STATUS=$(api "$DEEPX$LOCATION" | json 'd["status"]'); [ "$STATUS" = Queued ] || [ "$STATUS" = Running ]; do sleep 1; done
api "$DEEPX$LOCATION" | json 'json.dumps({k: d[k] for k in ("status", "device", "step", "totalSteps", "lastLoss", "bestLoss")})'
api "$DEEPX$LOCATION/log" >"$out/train-log.jsonl" || true
if [ "${DEVICE:-cuda}" != cpu ]; then grep -i -m3 "cuda:\|NVIDIA" "$out/train-log.jsonl" || { echo "the train's log does not name a CUDA device"; exit 1; }; fi
[ "$STATUS" = Succeeded ] || { echo "train ended $STATUS"; tail -20 "$out/train-log.jsonl"; exit 1; }
echo "console train on ${DEVICE:-cuda}: $STATUS"
