namespace Gateway.Aspire.AppHost.Tests;

/// <summary>Reads what a child process was really given, from /proc (Linux).</summary>
internal static class ProcessEnvironment
{
    /// <summary>The environment <paramref name="pid"/> was started with (/proc/&lt;pid&gt;/environ).</summary>
    public static IReadOnlyDictionary<string, string> Read(int pid)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = entry.IndexOf('=');
            if (equals > 0)
            {
                environment[entry[..equals]] = entry[(equals + 1)..];
            }
        }

        return environment;
    }

    /// <summary>Whether the process still exists (and is not a zombie awaiting its parent).</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var status = File.ReadAllText($"/proc/{pid}/status");
            return !status.Contains("State:\tZ", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }
}
