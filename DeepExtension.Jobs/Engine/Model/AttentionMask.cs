using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Jobs.Engine.Model;

/// <summary>
/// Builds the boolean attention mask (true = may attend) for scaled_dot_product_attention, or none at all when
/// SDPA's own causal flag (or no mask) is exact, which lets CUDA use its fastest kernels.
/// </summary>
public static class AttentionMask
{
    /// <summary>
    /// Mask [B or 1, 1, T, P + T] for <paramref name="queryLength"/> T new positions after <paramref name="pastLength"/>
    /// P cached ones: causal, limited to a sliding <paramref name="window"/> when given, and hiding keys where
    /// <paramref name="paddingMask"/> [B, P + T] is 0. A query that could see no key at all (a left-pad position)
    /// sees every key instead, as transformers does, so that no row becomes NaN. With <paramref name="documentIds"/>
    /// [B, T] (packed rows, no cache) a query sees only keys of its own document: the mask is block-diagonal. Returns null
    /// (with <paramref name="isCausal"/> telling SDPA what to do) when no explicit mask is needed.
    /// </summary>
    public static Tensor? Build(Tensor? paddingMask, long queryLength, long pastLength, long? window, Device device, out bool isCausal,
        Tensor? documentIds = null)
    {
        long keyLength = pastLength + queryLength;
        bool windowMatters = window is { } w && keyLength > w;
        isCausal = false;
        if (documentIds is not null && pastLength > 0) throw new ArgumentException("packed rows (document ids) are for training, without a cache");
        if (paddingMask is null && !windowMatters && documentIds is null)
        {
            if (queryLength == 1) return null;                 // one new token sees everything cached
            if (pastLength == 0) { isCausal = true; return null; }
        }

        using var scope = torch.NewDisposeScope();
        var queryPos = torch.arange(pastLength, keyLength, dtype: ScalarType.Int64, device: device).unsqueeze(1); // [T, 1]
        var keyPos = torch.arange(0, keyLength, dtype: ScalarType.Int64, device: device).unsqueeze(0);            // [1, S]
        var allowed = keyPos <= queryPos;                                                                          // [T, S]
        if (windowMatters) allowed = allowed.logical_and(keyPos > queryPos - window!.Value);
        var mask = allowed.unsqueeze(0).unsqueeze(0);                                                              // [1, 1, T, S]
        if (documentIds is not null)
        {
            var docs = documentIds.to(device);
            var sameDocument = docs.unsqueeze(2).eq(docs.unsqueeze(1)).unsqueeze(1);                               // [B, 1, T, T]
            mask = mask.logical_and(sameDocument);
        }
        if (paddingMask is not null)
        {
            if (paddingMask.shape[^1] != keyLength)
                throw new ArgumentException($"attention mask covers {paddingMask.shape[^1]} positions, expected {keyLength} (cached + new)");
            var keys = paddingMask.to(device).ne(0).unsqueeze(1).unsqueeze(1);                                     // [B, 1, 1, S]
            mask = mask.logical_and(keys);                                                                         // [B, 1, T, S]
            var seesNothing = mask.any(-1, keepdim: true).logical_not();                                           // [B, 1, T, 1]
            mask = mask.logical_or(seesNothing);
        }
        return mask.MoveToOuterDisposeScope();
    }
}
