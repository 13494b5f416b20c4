namespace DeepExtension.Core.Storage;

public static class Folders
{
    /// <summary>Removes a folder if it exists; an error (a file still open elsewhere) leaves it for later.</summary>
    public static void DeleteQuietly(string folder)
    {
        try
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }
}
