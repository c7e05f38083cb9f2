namespace Gateway.Aspire.Bench;

/// <summary>One process of the application, found among the AppHost's children by its command line.</summary>
internal sealed record TrackedProcess(string Name, int Pid);

/// <summary>CPU time (clock ticks, user + system, the process and its descendants) and RSS of each tracked process.</summary>
internal sealed record ProcessSample(IReadOnlyDictionary<string, long> CpuTicks, IReadOnlyDictionary<string, long> RssKb);

/// <summary>Reads /proc: the same numbers `top` and `ps` show, with no agent in the measured processes.</summary>
internal static class ProcessStats
{
    /// <summary>Linux reports CPU times in USER_HZ clock ticks, 100 per second on every mainstream kernel.</summary>
    public const double MillisecondsPerTick = 10.0;

    private static readonly (string Marker, string Name)[] s_names =
    [
        ("Gateway.Aspire.Router.dll", "router"),
        ("Gateway.Aspire.Policy.dll", "policy"),
        ("Gateway.Aspire.Accounting.dll", "accounting"),
        ("Gateway.Aspire.Guardrails.dll", "guardrails"),
        ("Gateway.Aspire.MockUpstream.dll", "mock"),
        ("redis-server", "redis"),
        ("garnet", "redis"),
        ("postgres", "postgres"),
    ];

    /// <summary>Names the AppHost's child processes.</summary>
    public static IReadOnlyList<TrackedProcess> Identify(IEnumerable<int> childPids)
    {
        var found = new List<TrackedProcess>();
        foreach (var pid in childPids)
        {
            var commandLine = CommandLine(pid);
            var match = s_names.FirstOrDefault(n => commandLine.Contains(n.Marker, StringComparison.OrdinalIgnoreCase));
            if (match.Name is not null && found.All(f => f.Name != match.Name))
            {
                found.Add(new TrackedProcess(match.Name, pid));
            }
        }

        return found;
    }

    public static ProcessSample Sample(IReadOnlyList<TrackedProcess> processes)
    {
        var tree = ReadAll();
        var cpu = new Dictionary<string, long>();
        var rss = new Dictionary<string, long>();
        foreach (var process in processes)
        {
            cpu[process.Name] = Descendants(process.Pid, tree).Sum(pid => tree.TryGetValue(pid, out var stat) ? stat.Ticks : 0);
            rss[process.Name] = RssKb(process.Pid);
        }

        return new ProcessSample(cpu, rss);
    }

    /// <summary>Busy and total clock ticks of the whole machine (first line of /proc/stat).</summary>
    public static (long Busy, long Total) MachineTicks()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(long.Parse).ToArray();
        var total = fields.Sum();
        var idle = fields[3] + fields[4]; // idle + iowait
        return (total - idle, total);
    }

    private static IEnumerable<int> Descendants(int root, Dictionary<int, (int Parent, long Ticks)> tree)
    {
        var result = new List<int> { root };
        for (var i = 0; i < result.Count; i++)
        {
            foreach (var (pid, stat) in tree)
            {
                if (stat.Parent == result[i])
                {
                    result.Add(pid);
                }
            }
        }

        return result;
    }

    private static Dictionary<int, (int Parent, long Ticks)> ReadAll()
    {
        var all = new Dictionary<int, (int, long)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            try
            {
                // The command name (field 2) may hold spaces: parse after its closing parenthesis.
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
                all[pid] = (int.Parse(fields[1]), long.Parse(fields[11]) + long.Parse(fields[12]));
            }
            catch (IOException)
            {
                // The process ended while we read.
            }
        }

        return all;
    }

    private static long RssKb(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return "";
        }
    }
}
