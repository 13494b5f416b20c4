using static TorchSharp.torch;

namespace DeepExtension.Tests.Support;

public static class TensorAssert
{
    /// <summary>Same dtype, same shape, every element equal.</summary>
    public static void Identical(Tensor expected, Tensor actual, string? what = null)
    {
        Assert.True(expected.dtype == actual.dtype, $"{what}: dtype {actual.dtype}, expected {expected.dtype}");
        Assert.True(expected.shape.SequenceEqual(actual.shape),
            $"{what}: shape [{string.Join(",", actual.shape)}], expected [{string.Join(",", expected.shape)}]");
        using var same = expected.equal(actual).all();
        Assert.True(same.item<bool>(), $"{what}: values differ");
    }

    /// <summary>Largest absolute difference (as float64) between two tensors of one shape.</summary>
    public static double MaxAbsDiff(Tensor expected, Tensor actual)
    {
        Assert.True(expected.shape.SequenceEqual(actual.shape),
            $"shape [{string.Join(",", actual.shape)}], expected [{string.Join(",", expected.shape)}]");
        if (expected.numel() == 0) return 0;
        using var e = expected.to(ScalarType.Float64, CPU);
        using var a = actual.to(ScalarType.Float64, CPU);
        using var d = (e - a).abs().max();
        return d.item<double>();
    }

    public static void Close(Tensor expected, Tensor actual, double atol, string? what = null)
    {
        double diff = MaxAbsDiff(expected, actual);
        Assert.True(diff <= atol, $"{what}: max abs difference {diff:G4} > {atol:G4}");
    }
}
