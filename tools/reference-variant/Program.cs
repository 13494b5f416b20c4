using DeepExtension.Tests.Support;

// reference-variant SOURCE TARGET: writes the variant of the reference set SOURCE into TARGET.
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: reference-variant SOURCE_SET TARGET_DIRECTORY");
    return 2;
}
foreach (var (from, to) in ReferenceSetVariant.Write(args[0], args[1])) Console.WriteLine($"{from} -> {to}");
return 0;
