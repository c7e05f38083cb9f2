namespace Gateway.Aspire.Hosting.Servers;

/// <summary>Looks at processes a previous run may have left behind, through /proc.</summary>
internal static class StaleProcess
{
    /// <summary>Whether <paramref name="pid"/> runs and its command line contains one of <paramref name="names"/>.</summary>
    public static bool IsRunning(int pid, params string[] names)
    {
        var cmdline = Path.Combine("/proc", pid.ToString(), "cmdline");
        try
        {
            var text = File.ReadAllText(cmdline);
            return names.Any(n => text.Contains(n, StringComparison.Ordinal));
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Waits until <paramref name="pid"/> is gone or the timeout passes.</summary>
    public static async Task WaitForExitAsync(int pid, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (Directory.Exists(Path.Combine("/proc", pid.ToString())) && DateTime.UtcNow < until)
        {
            await Task.Delay(50);
        }
    }
}
