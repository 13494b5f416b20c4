using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Model;

/// <summary>What the decoder keeps of its layers' activations for backward (transformers' <c>gradient_checkpointing</c>).</summary>
public enum ActivationCheckpointing
{
    /// <summary>Every activation of every layer is kept: fastest, most memory.</summary>
    Off,
    /// <summary>Only each layer's input is kept; the layer runs again in backward (about one more forward pass per step).</summary>
    Layer,
    /// <summary>As <see cref="Layer"/>, with the layer inputs kept in (pinned) host memory on a GPU and copied back in backward.</summary>
    Offload,
}

/// <summary>
/// The decoder layers as one autograd function that keeps only each layer's input (PyTorch's reentrant
/// <c>torch.utils.checkpoint</c>, applied to the whole stack at once so that autograd holds one output, not one per
/// layer). Forward runs the layers without a graph; backward walks them from the last, runs each again with a graph
/// from its kept input, and back-propagates the incoming gradient through it: the adapter's gradients accumulate in
/// its parameters as they would without checkpointing, and the gradient of the layer's input goes on to the layer
/// before. Random draws made inside the layers (LoRA dropout) come from <see cref="Stack.Random"/>, whose state is
/// recorded before each layer and replayed for the recomputation, so the same masks are drawn twice.
/// </summary>
public sealed class CheckpointedLayers : autograd.SingleTensorFunction<CheckpointedLayers>
{
    /// <summary>One forward pass's layers and the tensors they share (positions, masks), handed to the function.</summary>
    public sealed class Stack(IReadOnlyList<DecoderLayer> layers, Tensor cos, Tensor sin, IReadOnlyList<(Tensor? Mask, bool IsCausal)> masks,
        ActivationCheckpointing mode, Generator? random)
    {
        public IReadOnlyList<DecoderLayer> Layers { get; } = layers;
        // Own handles: the caller's dispose scope ends before backward runs.
        public Tensor Cos { get; } = cos.detach().DetachFromDisposeScope();
        public Tensor Sin { get; } = sin.detach().DetachFromDisposeScope();
        public IReadOnlyList<(Tensor? Mask, bool IsCausal)> Masks { get; } =
            masks.Select(m => (m.Mask?.detach().DetachFromDisposeScope(), m.IsCausal)).ToList();
        public ActivationCheckpointing Mode { get; } = mode;
        public Generator? Random { get; } = random;

        /// <summary>Each layer's input, on the device or in host memory (<see cref="ActivationCheckpointing.Offload"/>).</summary>
        internal readonly List<Tensor> Inputs = [];
        /// <summary><see cref="Random"/>'s state before each layer.</summary>
        internal readonly List<Tensor> RandomStates = [];

        internal void Release()
        {
            foreach (var t in Inputs) t.Dispose();
            foreach (var t in RandomStates) t.Dispose();
            Inputs.Clear();
            RandomStates.Clear();
            Cos.Dispose();
            Sin.Dispose();
            foreach (var (mask, _) in Masks) mask?.Dispose();
        }
    }

    public override string Name => nameof(CheckpointedLayers);

    /// <summary>
    /// Runs <paramref name="stack"/> on <paramref name="x"/> [B, T, hidden]; the result takes part in autograd as the
    /// layers would. <paramref name="x"/> is made to require grad if it does not (the embedding is frozen), since autograd
    /// calls a function's backward only when one of its inputs needs a gradient.
    /// </summary>
    public static Tensor Run(Tensor x, Stack stack)
    {
        if (!x.requires_grad) x = x.detach().requires_grad_(true);
        return apply(x, stack);
    }

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var stack = (Stack)vars[1];
        ctx.save_data(nameof(Stack), stack);
        var offload = stack.Mode == ActivationCheckpointing.Offload && x.device.type == DeviceType.CUDA;
        using var scope = torch.NewDisposeScope();
        for (var i = 0; i < stack.Layers.Count; i++)
        {
            stack.Inputs.Add((offload ? ToHost(x) : x.detach()).DetachFromDisposeScope());
            if (stack.Random is { } random) stack.RandomStates.Add(random.get_state().DetachFromDisposeScope());
            var (mask, isCausal) = stack.Masks[i];
            x = stack.Layers[i].forward(x, stack.Cos, stack.Sin, mask, isCausal, null);
        }
        return x.MoveToOuterDisposeScope();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var stack = (Stack)ctx.get_data(nameof(Stack));
        // The draws made since forward (other layers' dropout, later micro-batches) must not be undone by the replay.
        using var randomNow = stack.Random?.get_state();
        var grad = gradOutput.detach();
        try
        {
            using var withGrad = torch.enable_grad();
            for (var i = stack.Layers.Count - 1; i >= 0; i--)
            {
                using var scope = torch.NewDisposeScope();
                var kept = stack.Inputs[i];
                var input = (kept.device == grad.device ? kept : kept.to(grad.device, non_blocking: true)).detach().requires_grad_(true);
                if (stack.Random is { } random) random.set_state(stack.RandomStates[i]);
                var (mask, isCausal) = stack.Masks[i];
                var output = stack.Layers[i].forward(input, stack.Cos, stack.Sin, mask, isCausal, null);
                autograd.backward([output], [grad]);
                grad = input.grad!.detach().MoveToOuterDisposeScope();
                stack.Inputs[i].Dispose();
            }
        }
        finally
        {
            if (randomNow is not null) stack.Random!.set_state(randomNow);
            stack.Release();
        }
        return [grad, null!];
    }

    /// <summary>A copy of <paramref name="x"/> in pinned host memory, written without waiting for the device.</summary>
    static Tensor ToHost(Tensor x)
    {
        var host = torch.empty(x.shape, x.dtype, torch.CPU).pin_memory();
        host.copy_(x, nonBlocking: true);
        return host;
    }
}
