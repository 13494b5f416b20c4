using System.Reflection;
using System.Text;
using DeepExtension.Build;

namespace DeepExtension.Tests.Engine.Runtime;

/// <summary>The ELF edit that makes libLibTorchSharp.so load on an older libstdc++, on copies of the real file.</summary>
[Collection(DeepExtension.Tests.Support.TorchCollection.Name)]
public class ElfVersionPatcherTests
{
    const string Lib = "libstdc++.so.6";
    const string Symbol = "_ZSt21ios_base_library_initv";

    /// <summary>The unpatched library in the NuGet cache (read only).</summary>
    static string StockLibrary()
    {
        string root = typeof(ElfVersionPatcherTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "NuGetPackageRoot").Value!;
        return Directory.GetFiles(Path.Combine(root, "torchsharp"), "libLibTorchSharp.so", SearchOption.AllDirectories)
            .Single(p => p.Replace('\\', '/').Contains("/runtimes/linux-x64/native/"));
    }

    static byte[] FakeLibStdCxx(params string[] versions) =>
        Encoding.ASCII.GetBytes("\0" + string.Join("\0", versions) + "\0");

    /// <summary>A stand-in for a libstdc++ that defines every version the stock library needs but the excluded ones.</summary>
    static byte[] LibStdCxxWithout(byte[] stock, params string[] excluded) =>
        FakeLibStdCxx(ElfVersionPatcher.VersionNeeds(stock).Where(n => n.File == Lib && !excluded.Contains(n.Name)).Select(n => n.Name).ToArray());

    [Fact]
    public void Patch_StockLibrary_FlipsOnlyTheVersionFlagAndTheSymbolIndex()
    {
        byte[] stock = File.ReadAllBytes(StockLibrary());
        var need = ElfVersionPatcher.VersionNeeds(stock).Single(n => n.File == Lib && n.Name == "GLIBCXX_3.4.32");
        Assert.Equal(0, need.Flags & ElfVersionPatcher.VerFlgWeak);
        Assert.Equal(need.Index, ElfVersionPatcher.VersionIndexOf(stock, Symbol));
        Assert.Equal([Symbol], ElfVersionPatcher.SymbolsOfVersion(stock, need.Index));

        byte[] patched = (byte[])stock.Clone();
        var result = ElfVersionPatcher.Patch(patched, Lib, ["GLIBCXX_3.4.32"]);

        Assert.Null(result.Refused);
        Assert.True(result.Changed);
        Assert.Equal(["GLIBCXX_3.4.32"], result.WeakenedVersions);
        Assert.Equal([Symbol], result.UnversionedSymbols);
        Assert.Equal(stock.Length, patched.Length);
        var differing = Enumerable.Range(0, stock.Length).Where(i => stock[i] != patched[i]).ToList();
        Assert.Equal(2, differing.Count); // one byte of vna_flags, one byte of the symbol's .gnu.version entry

        var after = ElfVersionPatcher.VersionNeeds(patched).Single(n => n.File == Lib && n.Name == "GLIBCXX_3.4.32");
        Assert.Equal(ElfVersionPatcher.VerFlgWeak, after.Flags & ElfVersionPatcher.VerFlgWeak);
        Assert.Equal(1, ElfVersionPatcher.VersionIndexOf(patched, Symbol));
        Assert.All(ElfVersionPatcher.VersionNeeds(patched).Where(n => n.Name != "GLIBCXX_3.4.32"),
            n => Assert.Equal(0, n.Flags & ElfVersionPatcher.VerFlgWeak));

        byte[] again = (byte[])patched.Clone();
        var second = ElfVersionPatcher.Patch(again, Lib, ["GLIBCXX_3.4.32"]);
        Assert.False(second.Changed);
        Assert.Equal(["GLIBCXX_3.4.32"], second.AlreadyWeak);
        Assert.Equal(patched, again);
    }

    [Fact]
    public void Patch_VersionWhoseSymbolsAreRelocated_IsRefusedAndChangesNothing()
    {
        byte[] stock = File.ReadAllBytes(StockLibrary());
        byte[] copy = (byte[])stock.Clone();
        var result = ElfVersionPatcher.Patch(copy, Lib, ["GLIBCXX_3.4"]); // std::ios_base etc.: really bound
        Assert.NotNull(result.Refused);
        Assert.False(result.Changed);
        Assert.Equal(stock, copy);
    }

    [Fact]
    public void MissingVersions_ComparesWithTheSystemLibrary()
    {
        byte[] stock = File.ReadAllBytes(StockLibrary());
        Assert.Equal(["GLIBCXX_3.4.32"], ElfVersionPatcher.MissingVersions(stock, Lib, LibStdCxxWithout(stock, "GLIBCXX_3.4.32")));
        Assert.Empty(ElfVersionPatcher.MissingVersions(stock, Lib, LibStdCxxWithout(stock)));
        // a longer name ("GLIBCXX_3.4.320") does not count as the version
        var prefixOnly = FakeLibStdCxx([.. ElfVersionPatcher.VersionNeeds(stock).Where(n => n.File == Lib && n.Name != "GLIBCXX_3.4.32").Select(n => n.Name), "GLIBCXX_3.4.320"]);
        Assert.Equal(["GLIBCXX_3.4.32"], ElfVersionPatcher.MissingVersions(stock, Lib, prefixOnly));
    }

    [Fact]
    public void PatchFileIfNeeded_PatchesOnlyForAnOldLibStdCxx_KeepingSizeAndTimestamp()
    {
        string dir = Directory.CreateTempSubdirectory("deepx-elf-").FullName;
        try
        {
            string stockPath = StockLibrary();
            byte[] stock = File.ReadAllBytes(stockPath);
            string oldStd = Path.Combine(dir, "old-libstdc++.so.6"), newStd = Path.Combine(dir, "new-libstdc++.so.6");
            File.WriteAllBytes(oldStd, LibStdCxxWithout(stock, "GLIBCXX_3.4.32"));
            File.WriteAllBytes(newStd, LibStdCxxWithout(stock));

            string onNew = Path.Combine(dir, "new.so");
            File.Copy(stockPath, onNew);
            Assert.StartsWith("not needed", ElfVersionPatcher.PatchFileIfNeeded(onNew, newStd, force: false));
            Assert.Equal(stock, File.ReadAllBytes(onNew));

            string onOld = Path.Combine(dir, "old.so");
            File.Copy(stockPath, onOld);
            var time = File.GetLastWriteTimeUtc(onOld);
            Assert.StartsWith("patched", ElfVersionPatcher.PatchFileIfNeeded(onOld, oldStd, force: false));
            byte[] patched = File.ReadAllBytes(onOld);
            Assert.Equal(stock.Length, patched.Length);
            Assert.Equal(1, ElfVersionPatcher.VersionIndexOf(patched, Symbol));
            Assert.Equal(time, File.GetLastWriteTimeUtc(onOld));
            Assert.StartsWith("already patched", ElfVersionPatcher.PatchFileIfNeeded(onOld, oldStd, force: false));
            Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
            Assert.Equal(stock, File.ReadAllBytes(stockPath)); // the source stays stock
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>This project's output and, when built beside it, the Jobs and Web projects' outputs.</summary>
    public static TheoryData<string> OutputFolders()
    {
        var data = new TheoryData<string> { AppContext.BaseDirectory };
        // .../DeepExtension.Tests/bin/<Configuration>/<tfm>/ -> .../DeepExtension.{Jobs,Web}/bin/<Configuration>/<tfm>/
        var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = tfm.Parent;
        var solution = configuration?.Parent?.Parent?.Parent;
        if (solution is not null)
            foreach (var project in new[] { "DeepExtension.Jobs", "DeepExtension.Web" })
                data.Add(Path.Combine(solution.FullName, project, "bin", configuration!.Name, tfm.Name));
        return data;
    }

    [Theory]
    [MemberData(nameof(OutputFolders))]
    public void BuildOutputCopy_IsStockOrPatchedAccordingToThisMachine(string folder)
    {
        string output = Path.Combine(folder, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (!OperatingSystem.IsLinux() || !File.Exists(output)) return;
        byte[] stock = File.ReadAllBytes(StockLibrary());
        byte[] actual = File.ReadAllBytes(output);
        string? system = ElfVersionPatcher.FindSystemLibStdCxx();
        Assert.NotNull(system);
        var missing = ElfVersionPatcher.MissingVersions(stock, Lib, File.ReadAllBytes(system));
        byte[] expected = (byte[])stock.Clone();
        if (missing.Count > 0) ElfVersionPatcher.Patch(expected, Lib, missing);
        Assert.Equal(expected, actual);
    }
}
