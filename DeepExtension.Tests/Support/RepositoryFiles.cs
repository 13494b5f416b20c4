namespace DeepExtension.Tests.Support;

/// <summary>The repository the tests were built from (README, docs/, scripts), found above the test binaries.</summary>
public static class RepositoryFiles
{
    public static string Root
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "DeepExtension.sln"))) return dir.FullName;
            }
            throw new InvalidOperationException("The repository root (DeepExtension.sln) was not found.");
        }
    }

    public static string PathOf(string relativePath) => Path.Combine(Root, relativePath);
}
