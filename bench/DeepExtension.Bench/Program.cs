using DeepExtension.Bench;

// dotnet run -c Release --project bench/DeepExtension.Bench -- upload [options] | train-step [options] | lora-sft [options]
// See bench/README.md for what each benchmark measures and which claim it supports.
var command = args.Length > 0 ? args[0] : "";
var rest = args.Skip(1).ToArray();
return command switch
{
    "upload" => await UploadBench.RunAsync(rest),
    UploadBench.ChildCommand => await UploadBench.RunOneAsync(rest),
    "train-step" => TrainStepBench.Run(rest),
    "lora-sft" => await LoraSftBench.RunAsync(rest),
    "memory-estimate" => await MemoryEstimateBench.RunAsync(rest),
    LoraSftBench.ChildCommand => LoraSftBench.RunOne(rest),
    "compare-load" => await CompareLoadBench.RunAsync(rest),
    "parity" => ParityCheck.Run(rest),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: DeepExtension.Bench upload [--sizes-mb 48,1024,3072,6144] [--dir /tmp]
               DeepExtension.Bench train-step [--hidden 512] [--layers 4] [--heads 8] [--kv-heads 8] [--intermediate 1408]
                                              [--vocab 32000] [--seq 256] [--batch 4] [--rank 16] [--targets attention|all]
                                              [--warmup 3] [--steps 10] [--threads N]
               DeepExtension.Bench lora-sft [--small] [--shapes qwen2.5-0.5b,llama-3.2-1b,qwen2.5-1.5b] [--sizes 8x512,4x2048]
                                            [--device auto|cpu|cuda] [--warmup 3] [--steps 10] [--python python3] [--json-out FILE]
               DeepExtension.Bench memory-estimate [--device cpu|cuda] [--shapes cpu-512,cpu-768] [--sizes 4x256,2x512] [--checkpointing off,layer]
               DeepExtension.Bench compare-load [--runs 3] [--steps 100000] [--rounds 3] [--open full|in-app] [--drop-snapshots true] [--warm-small true] [--web DeepExtension.Web/bin/Release/net10.0/DeepExtension.Web.dll]
        """);
    return 2;
}
