// Makes TorchSharp's libLibTorchSharp.so load on Linux systems whose libstdc++ is older than the one it was
// linked against (Debian 12, Ubuntu 22.04: GCC 12's libstdc++, highest version GLIBCXX_3.4.30).
//
// This one file is compiled twice:
//   * by MSBuild's RoslynCodeTaskFactory (build/TorchSharpNativePatch.targets), which patches the copy of the
//     library in a project's build/publish output after it was copied there (never the NuGet cache);
//   * into DeepExtension.Tests (with DEEPX_ELF_PATCHER_ONLY defined), which unit-tests the ELF editing.
// It therefore targets netstandard2.0 APIs only (no Span, no BinaryPrimitives, no NativeLibrary).
//
// What the patch does (see shared notes "torchsharp-on-linux.md"): the library needs GLIBCXX_3.4.32 only
// for one symbol, std::ios_base_library_init(), which GCC 13's <iostream> references (an `.globl`
// directive, not a call) purely to tie the object to a new enough libstdc++. No relocation refers to it, so
// the dynamic loader never has to find a definition: it only refuses the version requirement. For every
// GLIBCXX_/CXXABI_ version the system libstdc++ lacks, the patcher
//   1. sets VER_FLG_WEAK on that version's Elf64_Vernaux entry in .gnu.version_r (the loader then accepts a
//      libstdc++ without the version), and
//   2. sets the .gnu.version index of every dynamic symbol bound to that version to 1 (global), so none of
//      them still asks for the missing version.
// It refuses (changes nothing) when any relocation refers to one of those symbols: then the symbol would
// really be bound at run time and weakening its version would only move the failure to a crash.
// The file's size and every other byte stay the same.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace DeepExtension.Build
{
    /// <summary>Outcome of <see cref="ElfVersionPatcher.Patch"/>.</summary>
    public sealed class ElfPatchResult
    {
        /// <summary>Version names whose requirement was made weak.</summary>
        public List<string> WeakenedVersions { get; } = new List<string>();
        /// <summary>Dynamic symbols whose version index was set to 1 (global).</summary>
        public List<string> UnversionedSymbols { get; } = new List<string>();
        /// <summary>Versions that were already weak (a previous patch): nothing to do.</summary>
        public List<string> AlreadyWeak { get; } = new List<string>();
        /// <summary>Why nothing was changed, when the patch is unsafe; null otherwise.</summary>
        public string? Refused { get; set; }
        public bool Changed => Refused == null && (WeakenedVersions.Count > 0 || UnversionedSymbols.Count > 0);
    }

    /// <summary>Minimal ELF64 little-endian reader/editor for symbol version requirements.</summary>
    public static class ElfVersionPatcher
    {
        const uint ShtRela = 4, ShtRel = 9, ShtDynsym = 11, ShtGnuVerneed = 0x6ffffffe, ShtGnuVersym = 0x6fffffff;
        public const ushort VerFlgWeak = 0x2;

        sealed class Section
        {
            public int Index;
            public uint Type, Link;
            public long Offset, Size, EntSize;
        }

        /// <summary>Version requirement entry (Elf64_Vernaux) of a needed library.</summary>
        public sealed class VersionNeed
        {
            public string File = "";
            public string Name = "";
            public ushort Flags;
            public ushort Index;
            public long FlagsOffset;
        }

        static ushort U16(byte[] b, long o) => (ushort)(b[o] | b[o + 1] << 8);
        static uint U32(byte[] b, long o) => (uint)(b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24);
        static long U64(byte[] b, long o) => (long)((ulong)U32(b, o) | (ulong)U32(b, o + 4) << 32);
        static void W16(byte[] b, long o, ushort v) { b[o] = (byte)v; b[o + 1] = (byte)(v >> 8); }

        static string CString(byte[] b, long o)
        {
            long end = o;
            while (end < b.Length && b[end] != 0) end++;
            return Encoding.ASCII.GetString(b, (int)o, (int)(end - o));
        }

        static List<Section> Sections(byte[] elf)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException("not an ELF file");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException("only 64-bit little-endian ELF files are supported");
            long shoff = U64(elf, 0x28);
            int shentsize = U16(elf, 0x3A), shnum = U16(elf, 0x3C);
            if (shoff <= 0 || shentsize < 64 || shoff + (long)shnum * shentsize > elf.Length)
                throw new InvalidDataException("ELF section header table out of range");
            var list = new List<Section>(shnum);
            for (int i = 0; i < shnum; i++)
            {
                long h = shoff + (long)i * shentsize;
                list.Add(new Section
                {
                    Index = i,
                    Type = U32(elf, h + 4),
                    Offset = U64(elf, h + 0x18),
                    Size = U64(elf, h + 0x20),
                    Link = U32(elf, h + 0x28),
                    EntSize = U64(elf, h + 0x38),
                });
            }
            return list;
        }

        /// <summary>All version requirements (.gnu.version_r) of the file.</summary>
        public static List<VersionNeed> VersionNeeds(byte[] elf)
        {
            var sections = Sections(elf);
            var result = new List<VersionNeed>();
            var verneed = sections.FirstOrDefault(s => s.Type == ShtGnuVerneed);
            if (verneed == null) return result;
            long strtab = sections[(int)verneed.Link].Offset;
            long need = verneed.Offset, end = verneed.Offset + verneed.Size;
            while (need + 16 <= end)
            {
                ushort count = U16(elf, need + 2);
                string file = CString(elf, strtab + U32(elf, need + 4));
                long aux = need + U32(elf, need + 8);
                for (int i = 0; i < count && aux + 16 <= end; i++)
                {
                    result.Add(new VersionNeed
                    {
                        File = file,
                        Flags = U16(elf, aux + 4),
                        Index = U16(elf, aux + 6),
                        Name = CString(elf, strtab + U32(elf, aux + 8)),
                        FlagsOffset = aux + 4,
                    });
                    uint nextAux = U32(elf, aux + 12);
                    if (nextAux == 0) break;
                    aux += nextAux;
                }
                uint next = U32(elf, need + 12);
                if (next == 0) break;
                need += next;
            }
            return result;
        }

        /// <summary>The dynamic symbols bound to the given version index (names).</summary>
        public static List<string> SymbolsOfVersion(byte[] elf, ushort versionIndex)
        {
            var sections = Sections(elf);
            var dynsym = sections.First(s => s.Type == ShtDynsym);
            var versym = sections.First(s => s.Type == ShtGnuVersym);
            long strtab = sections[(int)dynsym.Link].Offset;
            var names = new List<string>();
            long count = dynsym.Size / 24;
            for (long i = 0; i < count; i++)
                if ((U16(elf, versym.Offset + 2 * i) & 0x7fff) == versionIndex)
                    names.Add(CString(elf, strtab + U32(elf, dynsym.Offset + 24 * i)));
            return names;
        }

        /// <summary>Version index (.gnu.version, hidden bit cleared) of a dynamic symbol, or -1 when absent.</summary>
        public static int VersionIndexOf(byte[] elf, string symbol)
        {
            var sections = Sections(elf);
            var dynsym = sections.First(s => s.Type == ShtDynsym);
            var versym = sections.First(s => s.Type == ShtGnuVersym);
            long strtab = sections[(int)dynsym.Link].Offset;
            long count = dynsym.Size / 24;
            for (long i = 0; i < count; i++)
                if (CString(elf, strtab + U32(elf, dynsym.Offset + 24 * i)) == symbol)
                    return U16(elf, versym.Offset + 2 * i) & 0x7fff;
            return -1;
        }

        /// <summary>
        /// Weakens, in place in <paramref name="elf"/>, the requirements on <paramref name="library"/> for each of
        /// <paramref name="versions"/> and unversions the symbols bound to them. Changes nothing and sets
        /// <see cref="ElfPatchResult.Refused"/> when a relocation refers to one of those symbols.
        /// </summary>
        public static ElfPatchResult Patch(byte[] elf, string library, ICollection<string> versions)
        {
            var result = new ElfPatchResult();
            var sections = Sections(elf);
            var dynsymSection = sections.FirstOrDefault(s => s.Type == ShtDynsym);
            var versym = sections.FirstOrDefault(s => s.Type == ShtGnuVersym);
            var needs = VersionNeeds(elf).Where(n => n.File == library && versions.Contains(n.Name)).ToList();
            if (needs.Count == 0 || dynsymSection == null || versym == null) return result;

            long symCount = dynsymSection.Size / 24;
            var indices = new HashSet<ushort>(needs.Select(n => n.Index));
            var symbols = new List<long>();
            for (long i = 0; i < symCount; i++)
                if (indices.Contains((ushort)(U16(elf, versym.Offset + 2 * i) & 0x7fff)))
                    symbols.Add(i);

            // A relocation against one of them means the symbol is really used: do not patch.
            var bound = new HashSet<long>(symbols);
            long dynstr = sections[(int)dynsymSection.Link].Offset;
            foreach (var rel in sections.Where(s => (s.Type == ShtRela || s.Type == ShtRel) && s.Link == dynsymSection.Index))
            {
                long entSize = rel.EntSize > 0 ? rel.EntSize : (rel.Type == ShtRela ? 24 : 16);
                for (long o = rel.Offset; o + entSize <= rel.Offset + rel.Size; o += entSize)
                {
                    long sym = (long)((ulong)U64(elf, o + 8) >> 32);
                    if (bound.Contains(sym))
                    {
                        result.Refused = "a relocation refers to " + CString(elf, dynstr + U32(elf, dynsymSection.Offset + 24 * sym)) +
                                         ", which therefore needs a real definition of its version";
                        return result;
                    }
                }
            }

            foreach (var need in needs)
            {
                if ((need.Flags & VerFlgWeak) != 0) result.AlreadyWeak.Add(need.Name);
                else
                {
                    W16(elf, need.FlagsOffset, (ushort)(need.Flags | VerFlgWeak));
                    result.WeakenedVersions.Add(need.Name);
                }
            }
            foreach (long i in symbols)
            {
                W16(elf, versym.Offset + 2 * i, 1);
                result.UnversionedSymbols.Add(CString(elf, dynstr + U32(elf, dynsymSection.Offset + 24 * i)));
            }
            return result;
        }

        /// <summary>
        /// The versions of <paramref name="library"/> (for example libstdc++.so.6) that <paramref name="elf"/> needs
        /// and that are not named anywhere in <paramref name="systemLibrary"/> (the file the loader will use).
        /// </summary>
        public static List<string> MissingVersions(byte[] elf, string library, byte[] systemLibrary)
        {
            var missing = new List<string>();
            foreach (var need in VersionNeeds(elf).Where(n => n.File == library))
                if (IndexOfString(systemLibrary, Encoding.ASCII.GetBytes(need.Name + "\0")) < 0)
                    missing.Add(need.Name);
            return missing;
        }

        /// <summary>Index of a NUL-terminated string that starts a string (is preceded by a NUL); -1 if absent.</summary>
        static int IndexOfString(byte[] haystack, byte[] needle)
        {
            for (int i = 0; i <= haystack.Length - needle.Length; i++)
            {
                if (haystack[i] != needle[0]) continue;
                int j = 1;
                while (j < needle.Length && haystack[i + j] == needle[j]) j++;
                if (j == needle.Length && (i == 0 || haystack[i - 1] == 0)) return i;
            }
            return -1;
        }

        /// <summary>
        /// The libstdc++.so.6 the dynamic loader gave this process (from /proc/self/maps: the dotnet host links
        /// it), else the first one found in the usual library directories; null when none is found.
        /// </summary>
        public static string? FindSystemLibStdCxx()
        {
            try
            {
                if (File.Exists("/proc/self/maps"))
                    foreach (var line in File.ReadAllLines("/proc/self/maps"))
                    {
                        int slash = line.IndexOf('/');
                        if (slash < 0) continue;
                        string path = line.Substring(slash).Trim();
                        if (Path.GetFileName(path).StartsWith("libstdc++.so", StringComparison.Ordinal) && File.Exists(path))
                            return path;
                    }
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            string[] candidates =
            {
                "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
                "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
                "/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
            };
            return candidates.FirstOrDefault(File.Exists);
        }

        /// <summary>
        /// Patches <paramref name="path"/> if the system libstdc++ (<paramref name="systemLibStdCxx"/>) lacks a
        /// version it needs (or, with <paramref name="force"/> or no system library found, for the GLIBCXX_3.4.3x
        /// versions). Writes a new file and renames it over the old one, so a hard link into the NuGet cache is
        /// never written through, and keeps the timestamp (an incremental build then does not copy it again).
        /// Returns a one-line description starting with "patched", "already patched", "not needed" or "NOT patched".
        /// </summary>
        public static string PatchFileIfNeeded(string path, string? systemLibStdCxx, bool force)
        {
            const string library = "libstdc++.so.6";
            byte[] elf = File.ReadAllBytes(path);
            List<string> missing;
            if (force || systemLibStdCxx == null)
                missing = VersionNeeds(elf).Where(n => n.File == library && n.Name.StartsWith("GLIBCXX_3.4.3", StringComparison.Ordinal)).Select(n => n.Name).ToList();
            else
                missing = MissingVersions(elf, library, File.ReadAllBytes(systemLibStdCxx));
            if (missing.Count == 0) return "not needed: " + (systemLibStdCxx ?? "libstdc++") + " has every version it needs";

            var result = Patch(elf, library, missing);
            if (result.Refused != null) return "NOT patched (" + string.Join(", ", missing) + " missing): " + result.Refused;
            if (!result.Changed) return "already patched (" + string.Join(", ", result.AlreadyWeak) + " weak)";

            var time = File.GetLastWriteTimeUtc(path);
            string temp = path + ".deepx-patch.tmp";
            File.WriteAllBytes(temp, elf);
            File.SetLastWriteTimeUtc(temp, time);
            File.Delete(path);
            File.Move(temp, path);
            return "patched: weak " + string.Join(", ", result.WeakenedVersions) + "; unversioned " + string.Join(", ", result.UnversionedSymbols);
        }
    }
}

#if !DEEPX_ELF_PATCHER_ONLY
namespace DeepExtension.Build
{
    /// <summary>MSBuild task: patch each existing file of <see cref="Files"/> when the system libstdc++ needs it.</summary>
    public class PatchTorchSharpNative : Microsoft.Build.Utilities.Task
    {
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = new Microsoft.Build.Framework.ITaskItem[0];

        /// <summary>auto (default): patch when the system libstdc++ lacks a needed version; always; never.</summary>
        public string Mode { get; set; } = "auto";

        public override bool Execute()
        {
            if (string.Equals(Mode, "never", StringComparison.OrdinalIgnoreCase)) return true;
            bool force = string.Equals(Mode, "always", StringComparison.OrdinalIgnoreCase);
            // Automatic mode acts only when building on Linux: elsewhere there is no system libstdc++ to compare
            // with, and the build is for that system anyway.
            if (!force && !System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux))
                return true;
            string? libstdcxx = ElfVersionPatcher.FindSystemLibStdCxx();
            foreach (var item in Files)
            {
                string path = Path.GetFullPath(item.ItemSpec);
                if (!File.Exists(path)) continue;
                try
                {
                    string message = ElfVersionPatcher.PatchFileIfNeeded(path, libstdcxx, force);
                    if (message.StartsWith("NOT", StringComparison.Ordinal)) Log.LogWarning("TorchSharp native library {0}: {1}", path, message);
                    else Log.LogMessage(message.StartsWith("patched", StringComparison.Ordinal)
                            ? Microsoft.Build.Framework.MessageImportance.High
                            : Microsoft.Build.Framework.MessageImportance.Low,
                        "TorchSharp native library {0}: {1}", path, message);
                }
                catch (Exception e) when (e is IOException || e is InvalidDataException || e is UnauthorizedAccessException)
                {
                    Log.LogWarning("Could not patch TorchSharp native library {0}: {1}", path, e.Message);
                }
            }
            return true;
        }
    }
}
#endif
