#!/usr/bin/env python3
"""transformers + PEFT side of `DeepExtension.Bench lora-sft` (see bench/README.md, section 4).

One shape and size per process, the same settings as the engine's side: random weights from the shape's config,
LoRA r=16 alpha=32 dropout 0 on all seven projections, AdamW lr 1e-4, clipping 1.0, labels = inputs, SDPA attention,
bf16 base weights on a GPU (float32 on the CPU). Prints progress on stderr and one JSON result line on stdout.

Peak GPU memory is the device's memory in use (NVML through ctypes, sampled every 5 ms) minus what was in use before
CUDA was touched, the measure the engine's side uses; torch's own allocator peaks are printed on stderr too.
"""
import argparse
import ctypes
import json
import resource
import sys
import threading
import time


class Nvml:
    """Device memory in use via libnvidia-ml.so.1 (ships with the driver); None when there is no driver."""

    class Memory(ctypes.Structure):
        _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong), ("used", ctypes.c_ulonglong)]

    def __init__(self, index):
        self.lib = None
        try:
            lib = ctypes.CDLL("libnvidia-ml.so.1")
            if lib.nvmlInit_v2() != 0:
                return
            self.handle = ctypes.c_void_p()
            if lib.nvmlDeviceGetHandleByIndex_v2(ctypes.c_uint(index), ctypes.byref(self.handle)) != 0:
                return
            self.lib = lib
        except OSError:
            pass

    def used(self):
        if self.lib is None:
            return None
        memory = Nvml.Memory()
        return memory.used if self.lib.nvmlDeviceGetMemoryInfo(self.handle, ctypes.byref(memory)) == 0 else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", required=True)
    parser.add_argument("--config", required=True, help="the shape's config.json fields as JSON")
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--seq", type=int, required=True)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--lengths-file", help="JSON: per step, the batch's example lengths (mixed-length rows)")
    parser.add_argument("--padding-free", action="store_true",
                        help="flatten each batch as DataCollatorWithFlattening does (needs a FlashAttention implementation)")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    a = parser.parse_args()

    result = {"side": "peft", "shape": a.shape, "batch": a.batch, "seq": a.seq, "device": "?", "dtype": "?", "stepMs": 0,
              "tokensPerSecond": 0, "peakGpuGib": None, "peakRssGib": None, "firstLoss": 0, "lastLoss": 0, "versions": "", "error": None}
    try:
        import torch
        import transformers
        import peft
        from transformers import AutoConfig, AutoModelForCausalLM

        cuda = a.device.startswith("cuda") or (a.device == "auto" and torch.cuda.is_available())
        device = torch.device(a.device if a.device.startswith("cuda") else ("cuda" if cuda else "cpu"))
        index = device.index or 0
        nvml = Nvml(index) if cuda else None
        before = nvml.used() if nvml else None
        dtype = torch.bfloat16 if cuda else torch.float32
        result["versions"] = f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}" + \
            (f", {torch.cuda.get_device_name(device)}" if cuda else "")
        print("  " + result["versions"], file=sys.stderr)

        fields = json.loads(a.config)
        model_type = fields.pop("model_type")
        config = AutoConfig.for_model(model_type, **fields)
        torch.manual_seed(1234)
        # Built on the device: initialising 1.5B parameters on the CPU first took about a minute per process (not timed,
        # but it spent the GPU machine's time).
        # Padding-free batches need FlashAttention's variable-length kernels (transformers' padding_free guide); SDPA would
        # let the flattened examples attend to each other. Without flash_attn installed the row fails and says so.
        attention = "sdpa"
        if a.padding_free:
            import importlib.util
            if importlib.util.find_spec("flash_attn") is None:
                raise RuntimeError("padding-free needs FlashAttention (the flash_attn package), which this machine lacks")
            attention = "flash_attention_2"
        with device:
            model = AutoModelForCausalLM.from_config(config, torch_dtype=dtype, attn_implementation=attention)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.endswith("norm.weight"):
                    p.fill_(1.0)
                else:
                    p.normal_(0.0, 0.02)
        lora = peft.LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, task_type="CAUSAL_LM",
                               target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
        if a.gradient_checkpointing:
            # As TRL/Trainer set it up for PEFT: non-reentrant checkpointing, inputs requiring grad for the frozen embedding.
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            model.enable_input_require_grads()
        model = peft.get_peft_model(model, lora)
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
        model.train()

        peak = [0]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                used = nvml.used()
                if used is not None and used > peak[0]:
                    peak[0] = used
                time.sleep(0.005)

        sampler = threading.Thread(target=sample, daemon=True) if nvml and nvml.lib else None
        if sampler:
            sampler.start()
        if cuda:
            torch.cuda.reset_peak_memory_stats(device)
        generator = torch.Generator().manual_seed(7)
        lengths = json.load(open(a.lengths_file)) if a.lengths_file else None
        times, losses, tokens = [], [], []

        def batch(step):
            """Model inputs and the real tokens: equal lengths; mixed lengths padded to the longest (TRL's default), or flattened."""
            if lengths is None:
                ids = torch.randint(3, config.vocab_size, (a.batch, a.seq), generator=generator)
                return dict(input_ids=ids, attention_mask=torch.ones_like(ids), labels=ids), ids.numel()
            examples = [torch.randint(3, config.vocab_size, (n,), generator=generator) for n in lengths[step]]
            if a.padding_free:
                ids = torch.cat(examples).unsqueeze(0)
                positions = torch.cat([torch.arange(len(e)) for e in examples]).unsqueeze(0)
                labels = torch.cat([torch.cat([torch.tensor([-100]), e[1:]]) for e in examples]).unsqueeze(0)
                return dict(input_ids=ids, position_ids=positions, labels=labels), ids.numel()
            longest = max(len(e) for e in examples)
            ids = torch.zeros((len(examples), longest), dtype=torch.long)
            mask = torch.zeros_like(ids)
            labels = torch.full_like(ids, -100)
            for i, e in enumerate(examples):
                ids[i, :len(e)] = e
                mask[i, :len(e)] = 1
                labels[i, :len(e)] = e
            return dict(input_ids=ids, attention_mask=mask, labels=labels), int(mask.sum())

        for step in range(a.warmup + a.steps):
            inputs, real = batch(step)
            inputs = {k: v.to(device) for k, v in inputs.items()}
            start = time.perf_counter()
            out = model(**inputs)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            loss = out.loss.item()  # the step's host synchronisation, as on the engine's side
            ms = (time.perf_counter() - start) * 1000
            print(f"  step {step + 1}{' (warm-up)' if step < a.warmup else ''}: {ms:.1f} ms, loss {loss:.4f}", file=sys.stderr)
            if step >= a.warmup:
                times.append(ms)
                losses.append(loss)
                tokens.append(real)
        if sampler:
            stop.set()
            sampler.join()
        median = sorted(times)[len(times) // 2]
        gib = 1024.0 ** 3
        result.update({
            "device": f"cuda:{index}" if cuda else "cpu", "dtype": "bf16" if cuda else "fp32", "stepMs": median,
            # Real (non-padding) tokens per second: with equal lengths batch × seq at the median step's pace.
            "tokensPerSecond": a.batch * a.seq / (median / 1000) if lengths is None else sum(tokens) / (sum(times) / 1000),
            "peakGpuGib": (peak[0] - (before or 0)) / gib if sampler and peak[0] > 0 else None,
            "peakRssGib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / gib,
            "firstLoss": losses[0], "lastLoss": losses[-1],
        })
        if cuda:
            print(f"  torch max_memory_allocated {torch.cuda.max_memory_allocated(device) / gib:.2f} GiB, "
                  f"max_memory_reserved {torch.cuda.max_memory_reserved(device) / gib:.2f} GiB", file=sys.stderr)
    except Exception as e:  # reported in the table, like the engine side's failures
        print(repr(e), file=sys.stderr)
        result["error"] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    print(json.dumps(result))
    return 0 if result["error"] is None else 1


if __name__ == "__main__":
    sys.exit(main())
