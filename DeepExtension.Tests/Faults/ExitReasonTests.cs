using DeepExtension.Jobs.Work;

namespace DeepExtension.Tests.Faults;

/// <summary>Issue 13, fault 7: every SIGKILL was reported as "most often by the system running out of memory".</summary>
public sealed class ExitReasonTests
{
    [Fact]
    public void Describe_SigkillWithoutKnownCause_NamesTheSignalAndSaysTheSourceIsUnknown()
    {
        foreach (bool? oom in new bool?[] { null, false })
        {
            var reason = new WorkerExit(137, false, null, oom).FailureReason;
            Assert.Contains("SIGKILL", reason);
            Assert.Contains("unknown", reason);
            Assert.DoesNotContain("out of memory", reason);
        }
    }

    [Fact]
    public void Describe_SigkillWhileTheOomCounterRose_SaysOutOfMemory()
    {
        Assert.Contains("ran out of memory", new WorkerExit(137, false, null, OutOfMemory: true).FailureReason);
        // Other signals: named, with the source unknown.
        Assert.Contains("signal 10", WorkerExit.Describe(138));
        Assert.Contains("unknown", WorkerExit.Describe(138));
    }

    [Fact]
    public void OomKillCounter_CgroupV2AndV1Files_ReadsTheOomKillLineAndSeesItRise()
    {
        var folder = Directory.CreateTempSubdirectory("oom-").FullName;
        try
        {
            var v2 = Path.Combine(folder, "memory.events");
            var v1 = Path.Combine(folder, "memory.oom_control");
            File.WriteAllText(v2, "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\noom_group_kill 0\n");
            File.WriteAllText(v1, "oom_kill_disable 0\nunder_oom 0\noom_kill 7\n");
            var missing = Path.Combine(folder, "absent", "memory.events");

            Assert.Equal(2, new OomKillCounter([missing, v2, v1]).Read());
            Assert.Equal(7, new OomKillCounter([missing, v1]).Read());
            Assert.Null(new OomKillCounter([missing]).Read());
            var counter = new OomKillCounter([v2]);
            var before = counter.Read();
            File.WriteAllText(v2, "oom 3\noom_kill 3\n");
            Assert.True(OomKillCounter.KilledBetween(before, counter.Read()));
            Assert.False(OomKillCounter.KilledBetween(3, 3));
            Assert.Null(OomKillCounter.KilledBetween(null, 3));
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }
}
