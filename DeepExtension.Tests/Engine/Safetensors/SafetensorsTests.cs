using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using DeepExtension.Jobs.Engine.Safetensors;
using DeepExtension.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepExtension.Tests.Engine.Safetensors;

[Collection(DeepExtension.Tests.Support.TorchCollection.Name)]
public sealed class SafetensorsTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("deepx-st-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static Dictionary<string, Tensor> Sample()
    {
        var g = new torch.Generator(1234); // deterministic, CPU
        var f32 = torch.randn([3, 5], generator: g);
        return new Dictionary<string, Tensor>
        {
            ["a.f32"] = f32,
            ["b.bf16"] = torch.randn([4, 7], generator: g).to(ScalarType.BFloat16),
            ["c.f16"] = torch.randn([2, 3, 4], generator: g).to(ScalarType.Float16),
            ["d.f64"] = torch.randn([5], generator: g, dtype: ScalarType.Float64),
            ["e.i64"] = torch.arange(-5, 7, dtype: ScalarType.Int64).reshape(3, 4),
            ["f.i32"] = torch.arange(10, dtype: ScalarType.Int32),
            ["g.u8"] = torch.arange(256, dtype: ScalarType.Int32).to(ScalarType.Byte),
            ["h.bool"] = torch.tensor(new[] { true, false, true }),
            ["i.i8"] = torch.tensor(new sbyte[] { -128, 0, 127 }),
            ["j.i16"] = torch.tensor(new short[] { -3, 3 }),
            ["k.scalar"] = torch.tensor(2.5f),
            ["l.empty"] = torch.zeros([0, 4]),
            ["m.transposed"] = f32.t(), // not contiguous: written in logical order
        };
    }

    [Fact]
    public void SaveThenLoad_EveryDtype_RoundTripsExactly()
    {
        using var scope = torch.NewDisposeScope();
        var tensors = Sample();
        string path = Path.Combine(dir, "x.safetensors");
        SafetensorsWriter.Save(path, tensors);

        using var file = SafetensorsFile.Open(path);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal(tensors.Keys.Order(StringComparer.Ordinal), file.Names.Order(StringComparer.Ordinal));
        foreach (var (name, expected) in tensors)
        {
            TensorAssert.Identical(expected, file.Load(name), name);
        }
        Assert.Equal("BF16", file.Info("b.bf16").Dtype);
        Assert.Equal("F16", file.Info("c.f16").Dtype);
    }

    [Fact]
    public void Save_LayoutIsThatOfThePythonLibrary()
    {
        using var scope = torch.NewDisposeScope();
        string path = Path.Combine(dir, "x.safetensors");
        SafetensorsWriter.Save(path, Sample());
        byte[] bytes = File.ReadAllBytes(path);
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, n % 8);
        string json = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.StartsWith("{\"__metadata__\":{\"format\":\"pt\"},", json);
        Assert.DoesNotContain("\n", json);

        using var file = SafetensorsFile.Open(path);
        var order = file.Tensors.ToList();
        // packed without gaps, in data order, the header in the same order
        for (int i = 0; i < order.Count; i++)
            Assert.Equal(i == 0 ? 0 : order[i - 1].End, order[i].Begin);
        Assert.Equal(bytes.Length - 8 - n, order[^1].End);
        // larger dtypes first, then names
        Assert.Equal(["e.i64", "d.f64", "a.f32", "k.scalar", "l.empty", "m.transposed", "f.i32", "b.bf16", "c.f16", "j.i16", "i.i8", "g.u8", "h.bool"],
            order.Select(t => t.Name));
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void ModelFile_RewrittenFromItsTensors_IsByteIdentical(string model)
    {
        using var scope = torch.NewDisposeScope();
        // Every weight file: model.safetensors, or each shard its index names.
        using var checkpoint = SafetensorsCheckpoint.Open(ReferenceModels.PathOf(model));
        Assert.NotEmpty(checkpoint.Files);
        foreach (var source in checkpoint.Files)
        {
            using var file = SafetensorsFile.Open(source);
            var tensors = file.Names.ToDictionary(n => n, n => file.Load(n));
            string copy = Path.Combine(dir, "copy.safetensors");
            SafetensorsWriter.Save(copy, tensors, file.Metadata);
            Assert.Equal(File.ReadAllBytes(source), File.ReadAllBytes(copy));
        }
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void ReferenceFile_ReadsTheBatch(string model)
    {
        using var scope = torch.NewDisposeScope();
        using var file = SafetensorsFile.Open(Path.Combine(ReferenceModels.PathOf(model), "reference.safetensors"));
        Assert.Empty(file.Metadata);
        var ids = file.Load("input_ids");
        var mask = file.Load("attention_mask");
        var labels = file.Load("labels");
        Assert.Equal(ScalarType.Int64, ids.dtype);
        Assert.Equal(2, ids.shape[0]);
        // labels = input_ids where attended, -100 on padding
        TensorAssert.Identical(ids.masked_fill(mask.eq(0), -100), labels);
        var logits = file.Load("logits");
        Assert.Equal(ScalarType.Float32, logits.dtype);
        Assert.Equal([ids.shape[0], ids.shape[1]], logits.shape[..2]);
        // conversion on load
        var asBf16 = file.Load("logits", ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, asBf16.dtype);
        TensorAssert.Close(logits, asBf16, atol: 0.01 * (1 + logits.abs().max().item<float>()));
    }

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void ShardedCheckpoint_WrittenAndReadBack_HasEveryTensor(string model)
    {
        using var scope = torch.NewDisposeScope();
        using var original = SafetensorsCheckpoint.Open(ReferenceModels.PathOf(model));
        var tensors = original.Names.Select(n => KeyValuePair.Create(n, original.Load(n))).ToList();
        long total = tensors.Sum(t => t.Value.numel() * t.Value.element_size());

        string sharded = Path.Combine(dir, "sharded");
        var files = SafetensorsWriter.SaveCheckpoint(sharded, tensors, maxShardBytes: total / 3 + 1);
        Assert.True(files.Count >= 4); // at least 3 shards + index
        Assert.EndsWith("model.safetensors.index.json", files[^1]);
        using (var doc = JsonDocument.Parse(File.ReadAllText(files[^1])))
        {
            Assert.Equal(total, doc.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());
            Assert.Equal(tensors.Count, doc.RootElement.GetProperty("weight_map").EnumerateObject().Count());
        }
        Assert.False(File.Exists(Path.Combine(sharded, "model.safetensors")));

        using var reread = SafetensorsCheckpoint.Open(sharded);
        Assert.Equal(original.Names, reread.Names);
        Assert.Equal(files.Count - 1, reread.Files.Count);
        foreach (var (name, expected) in tensors)
            TensorAssert.Identical(expected, reread.Load(name), name);

        // a small checkpoint stays one file
        string single = Path.Combine(dir, "single");
        var one = SafetensorsWriter.SaveCheckpoint(single, tensors);
        Assert.Equal([Path.Combine(single, "model.safetensors")], one);
    }

    [Fact]
    public void Open_CorruptHeader_Throws()
    {
        string path = Path.Combine(dir, "bad.safetensors");
        var json = Encoding.UTF8.GetBytes("{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,8]}}");
        var bytes = new byte[8 + json.Length + 8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
        Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path)); // 4 floats need 16 bytes

        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1UL << 40);
        File.WriteAllBytes(path, bytes);
        Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path));
    }
}
