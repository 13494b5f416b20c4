namespace DeepExtension.Jobs;

public static class Program
{
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("usage: DeepExtension.Jobs <command> [options]");
        return args.Length == 0 ? 2 : 2;
    }
}
