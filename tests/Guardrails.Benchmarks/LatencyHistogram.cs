using System.Diagnostics;
using System.Runtime.InteropServices;
using Gateway.Aspire.Guardrails.Pii;

namespace Gateway.Aspire.Guardrails.Benchmarks;

/// <summary>
/// Per-call latency percentiles of a 1 KB scan. BenchmarkDotNet reports the mean of many calls per
/// iteration, which hides the tail; the target is per check (p50 and p99), so this times
/// every call on its own after a warm-up, twice: wall-clock time, and the thread's own CPU time
/// (Linux <c>CLOCK_THREAD_CPUTIME_ID</c>), which leaves out the time the thread was descheduled. On a
/// shared 2-core machine the wall-clock tail measures the neighbours; the CPU-time tail measures the code.
/// </summary>
internal static partial class LatencyHistogram
{
    private const int ClockThreadCpuTime = 3;

    /// <summary>Times <paramref name="calls"/> scans of a <paramref name="size"/>-character prompt and prints the percentiles.</summary>
    public static void Run(int size, int calls)
    {
        var scanner = new PiiScanner();
        Run("Scan", "all detectors", size, calls, text => scanner.Scan(text).Count);
    }

    /// <summary>Times <paramref name="calls"/> calls of <paramref name="check"/> on a <paramref name="size"/>-character prompt and prints the percentiles.</summary>
    public static void Run(string name, string what, int size, int calls, Func<string, int> check)
    {
        var text = Prompts.OfSize(size);
        for (var i = 0; i < Math.Max(20, calls / 10); i++)
        {
            check(text);
        }

        var wall = new double[calls];
        var cpu = new double[calls];
        var threadClock = OperatingSystem.IsLinux();
        for (var i = 0; i < calls; i++)
        {
            var cpuStart = threadClock ? ThreadCpuMicroseconds() : 0;
            var start = Stopwatch.GetTimestamp();
            check(text);
            wall[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            cpu[i] = threadClock ? ThreadCpuMicroseconds() - cpuStart : double.NaN;
        }

        Console.WriteLine($"{name} of {text.Length} characters, {what}, {calls} calls (µs):");
        Console.WriteLine("          wall   thread-cpu");
        Array.Sort(wall);
        Array.Sort(cpu);
        foreach (var p in new[] { 50.0, 90.0, 99.0, 99.9 })
        {
            var at = Math.Min(calls - 1, (int)(calls * p / 100));
            Console.WriteLine($"  p{p,-5} {wall[at],8:0.0} {cpu[at],10:0.0}");
        }

        Console.WriteLine($"  max    {wall[^1],8:0.0} {cpu[^1],10:0.0}");
    }

    private static double ThreadCpuMicroseconds()
    {
        _ = ClockGetTime(ClockThreadCpuTime, out var time);
        return (time.Seconds * 1e6) + (time.Nanoseconds / 1e3);
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
