using System.Globalization;

namespace Gateway.Aspire.LedgerBench;

/// <summary>
/// CPU time of a process tree from /proc (Linux), so ingestion can be reported per CPU-second as
/// well as per wall second: on a shared machine the wall rate says more about the neighbours.
/// </summary>
internal static class ProcessCpu
{
    private const double TicksPerSecond = 100; // USER_HZ on Linux

    /// <summary>Seconds of CPU used so far by <paramref name="rootPid"/> and its direct children (PostgreSQL's backends).</summary>
    public static double TreeSeconds(int rootPid)
    {
        double ticks = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(directory, "stat"));
            }
            catch (IOException)
            {
                continue; // gone meanwhile
            }

            // Fields after the parenthesised command: state ppid ... utime(14) stime(15), 1-based.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var parent = int.Parse(fields[1], CultureInfo.InvariantCulture);
            if (pid == rootPid || parent == rootPid)
            {
                ticks += double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture);
            }
        }

        return ticks / TicksPerSecond;
    }

    /// <summary>The 1-minute load average.</summary>
    public static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];
}
