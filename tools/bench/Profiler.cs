using System.Diagnostics;

namespace Gateway.Aspire.Bench;

/// <summary>
/// A sampling CPU profile with Linux perf while the gateway runs at saturation: where the cycles go
/// per process and per shared object, then the hottest symbols (JIT frames are named through the
/// perf maps the services write with DOTNET_PerfMapEnabled=1).
/// </summary>
internal static class Profiler
{
    public static async Task<string?> RecordAsync(IReadOnlyList<TrackedProcess> processes, Func<Task<(LoadResult, string)>> load, string directory)
    {
        if (WrkLoad.FindOnPath("perf") is null)
        {
            Console.WriteLine("perf is not on PATH (Debian: apt-get install linux-perf); no profile.");
            return null;
        }

        var data = Path.Combine(directory, "perf.data");
        var pids = string.Join(",", processes.Where(p => p.Name is "router" or "policy" or "accounting" or "guardrails" or "mock" or "redis").Select(p => p.Pid));
        using var recorder = Start("perf", "record", "-F", "499", "-g", "-o", data, "-p", pids, "--", "sleep", "8");
        var (result, _) = await load();
        await recorder.WaitForExitAsync();

        var overall = await RunAsync("perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none", "--sort", "dso,sym", "--percent-limit", "1");
        var byThread = await RunAsync("perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none", "--sort", "comm,dso", "--percent-limit", "1");
        var kernel = await RunAsync("perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "dso", "--dsos", "[kernel.kallsyms]", "-g", "graph,4,callee", "--percent-limit", "5");
        var report = new System.Text.StringBuilder();
        report.AppendLine($"perf record -F 499 -g of router, policy, accounting, guardrails, mock and redis for 8 s while the gateway ran at");
        report.AppendLine($"saturation ({result.Requests / Math.Max(0.001, result.Seconds):F0} req/s under perf, concurrency {BenchRunner.SaturationConcurrency}). 2 cores shared by everything.");
        report.AppendLine("JIT-compiled frames are named from the perf maps (DOTNET_PerfMapEnabled=1, W^X off); [k] is the kernel.");
        report.AppendLine("Per-process CPU is in the bench's CPU-per-request table; perf groups by thread name here.");
        report.AppendLine();
        report.AppendLine("== by thread name and shared object (≥ 1%) ==");
        report.AppendLine(Strip(byThread));
        report.AppendLine();
        report.AppendLine("== by shared object and symbol (≥ 1%) ==");
        report.AppendLine(Strip(overall));
        report.AppendLine();
        report.AppendLine("== kernel time by call path (branches ≥ 4% of all samples; in this VM most kernel samples land on pvm_irq_enable) ==");
        report.AppendLine(Strip(kernel));
        return report.ToString();
    }

    private static string Strip(string report) =>
        string.Join('\n', report.Split('\n').Where(l => !l.StartsWith('#') && l.Trim().Length > 0));

    private static Process Start(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        var process = Process.Start(start)!;
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        return process;
    }

    private static async Task<string> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return await output;
    }
}
