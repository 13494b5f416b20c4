namespace DeepExtension.Tests.Support;

public static class TestPorts
{
    /// <summary>A loopback port nothing listens on (it was free a moment ago), for "unreachable server" cases.</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
