using System.Globalization;
using System.Text;

namespace Gateway.Aspire.Bench;

/// <summary>Writes results.md and the results section of docs/perf/README.md.</summary>
internal static class Report
{
    public const string Machine = "2 cores shared by the load generator, the mock upstream, Redis, PostgreSQL and the four services";
    private const string StartMarker = "<!-- bench:results:start -->";
    private const string EndMarker = "<!-- bench:results:end -->";
    private static readonly string[] s_services = ["router", "policy", "accounting", "guardrails", "redis", "postgres", "mock"];

    public static async Task WriteAsync(BenchRun run)
    {
        Directory.CreateDirectory(run.Options.OutputDirectory);
        var markdown = Render(run);
        await File.WriteAllTextAsync(Path.Combine(run.Options.OutputDirectory, "results.md"), "# Latest benchmark results\n\nWritten by `tools/bench`; see [README.md](README.md) for what is measured.\n\n" + markdown);
        if (run.Profile is not null)
        {
            await File.WriteAllTextAsync(Path.Combine(run.Options.OutputDirectory, "profile.txt"), run.Profile);
        }

        var readme = Path.Combine(run.Options.OutputDirectory, "README.md");
        if (File.Exists(readme))
        {
            var text = await File.ReadAllTextAsync(readme);
            var start = text.IndexOf(StartMarker, StringComparison.Ordinal);
            var end = text.IndexOf(EndMarker, StringComparison.Ordinal);
            if (start >= 0 && end > start)
            {
                text = text[..(start + StartMarker.Length)] + "\n" + markdown + text[end..];
                await File.WriteAllTextAsync(readme, text);
            }
        }
    }

    private static string Render(BenchRun run)
    {
        var o = new StringBuilder();
        var r = run.Results;
        o.AppendLine(CultureInfo.InvariantCulture, $"Run of {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, `{(run.Options.Quick ? "--quick" : "full")}`: {run.Options.Rounds} interleaved round(s) of {run.Options.SegmentDuration.TotalSeconds:F0} s segments per path, {run.Configuration} build, "
            + $"load from {string.Join(" and ", run.Generators)}, {run.Elapsed.TotalMinutes:F1} min in all. **Machine: {Environment.ProcessorCount} cores ({CpuModel()}), {Machine}; numbers are noisy.**");
        o.AppendLine();
        o.AppendLine(CultureInfo.InvariantCulture, $"Gateway path = auth + a token rate-limit rule (`{AppUnderTest.RateLimitRule}`, tokens_per_minute) + a hard daily budget (`{AppUnderTest.BudgetRule}`), checked and reserved by one policy `Admit` (one Redis script) and settled after each call, + accounting (ledger: {run.LedgerRows} rows for {run.GatewayRequests} gateway requests incl. warm-up). No guardrails rules, so no guardrails call, except in the \"PII masked on input\" cases, measured against a second start of the application whose gateway.yaml adds a `gateway-guardrails-config` rule masking PII (an e-mail address and a phone number in the body) on input.");
        o.AppendLine();

        o.AppendLine(CultureInfo.InvariantCulture, $"### Latency, non-streaming (ms; {Machine})");
        o.AppendLine();
        o.AppendLine("| case | path | requests | p50 | p90 | p99 | p99.9 | req/s | errors |");
        o.AppendLine("|---|---|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var s in BenchRunner.Scenarios.Where(s => !s.Stream))
        {
            foreach (var path in new[] { BenchRunner.Direct, BenchRunner.Gateway })
            {
                var l = r[s.Key][path].Load;
                o.AppendLine(CultureInfo.InvariantCulture, $"| {s.Title} | {path} | {l.Requests} | {Ms(l.Latency, 50)} | {Ms(l.Latency, 90)} | {Ms(l.Latency, 99)} | {Ms(l.Latency, 99.9)} | {l.Requests / Math.Max(1e-9, l.Seconds):F0} | {l.Errors} |");
            }
        }

        o.AppendLine();
        o.AppendLine(CultureInfo.InvariantCulture, $"### Added latency: gateway − direct (ms, and gateway ÷ direct; {Machine})");
        o.AppendLine();
        o.AppendLine("| case | p50 | p90 | p99 | p99.9 | target |");
        o.AppendLine("|---|--:|--:|--:|--:|---|");
        foreach (var s in BenchRunner.Scenarios.Where(s => !s.Stream && !s.Saturation))
        {
            var d = r[s.Key][BenchRunner.Direct].Load.Latency;
            var g = r[s.Key][BenchRunner.Gateway].Load.Latency;
            var target = s.Concurrency == 1 && !s.Pii ? Verdict(g.PercentileMs(50) - d.PercentileMs(50) <= 1 && g.PercentileMs(99) - d.PercentileMs(99) <= 3, "p50 ≤ 1, p99 ≤ 3") : "reported";
            o.AppendLine(CultureInfo.InvariantCulture, $"| {s.Title} | {Added(d, g, 50)} | {Added(d, g, 90)} | {Added(d, g, 99)} | {Added(d, g, 99.9)} | {target} |");
        }

        o.AppendLine();
        o.AppendLine(CultureInfo.InvariantCulture, $"### Saturation (concurrency {BenchRunner.SaturationConcurrency}, upstream 0 ms; {Machine})");
        o.AppendLine();
        o.AppendLine("| case | path | requests | req/s | errors | p50 ms | p99 ms | machine CPU busy | target |");
        o.AppendLine("|---|---|--:|--:|--:|--:|--:|--:|---|");
        foreach (var s in BenchRunner.Scenarios.Where(s => s.Saturation))
        {
            foreach (var path in new[] { BenchRunner.Direct, BenchRunner.Gateway })
            {
                var p = r[s.Key][path];
                var rps = p.Load.Requests / Math.Max(1e-9, p.Load.Seconds);
                var target = path == BenchRunner.Gateway && !s.Pii ? Verdict(rps >= 5000 && p.Load.Errors == 0, "≥ 5,000 req/s, no errors") : "";
                o.AppendLine(CultureInfo.InvariantCulture, $"| {(s.Pii ? "PII masked on input" : "main")} | {path} | {p.Load.Requests} | {rps:F0} | {p.Load.Errors} | {Ms(p.Load.Latency, 50)} | {Ms(p.Load.Latency, 99)} | {100.0 * p.MachineBusyTicks / Math.Max(1, p.MachineTotalTicks):F0}% | {target} |");
            }
        }

        o.AppendLine();
        o.AppendLine(CultureInfo.InvariantCulture, $"### Streaming (100 chunks of one token; ms; {Machine})");
        o.AppendLine();
        o.AppendLine("Chunk gap = time between consecutive server-sent events as the client reads them (0 when several arrive in one read).");
        o.AppendLine();
        o.AppendLine("| case | path | streams | first byte p50 | p90 | p99 | chunk gap p50 | p99 | p99.9 | whole stream p50 | errors |");
        o.AppendLine("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        var firstByteMet = true;
        foreach (var s in BenchRunner.Scenarios.Where(s => s.Stream))
        {
            var sd = r[s.Key][BenchRunner.Direct].Load;
            var sg = r[s.Key][BenchRunner.Gateway].Load;
            foreach (var (path, l) in new[] { (BenchRunner.Direct, sd), (BenchRunner.Gateway, sg) })
            {
                o.AppendLine(CultureInfo.InvariantCulture, $"| {s.Title} | {path} | {l.Requests} | {Ms(l.FirstByte, 50)} | {Ms(l.FirstByte, 90)} | {Ms(l.FirstByte, 99)} | {Ms(l.ChunkGap, 50)} | {Ms(l.ChunkGap, 99)} | {Ms(l.ChunkGap, 99.9)} | {Ms(l.Latency, 50)} | {l.Errors} |");
            }

            o.AppendLine(CultureInfo.InvariantCulture, $"| {s.Title} | **added** | | {Added(sd.FirstByte, sg.FirstByte, 50)} | {Added(sd.FirstByte, sg.FirstByte, 90)} | {Added(sd.FirstByte, sg.FirstByte, 99)} | {Added(sd.ChunkGap, sg.ChunkGap, 50)} | {Added(sd.ChunkGap, sg.ChunkGap, 99)} | {Added(sd.ChunkGap, sg.ChunkGap, 99.9)} | {Added(sd.Latency, sg.Latency, 50)} | |");
            firstByteMet &= sg.FirstByte.PercentileMs(50) - sd.FirstByte.PercentileMs(50) <= 1;
        }

        o.AppendLine();
        o.AppendLine(CultureInfo.InvariantCulture, $"Target: first byte within 1 ms of the upstream's (p50): {Verdict(firstByteMet, "")}.");

        o.AppendLine();
        o.AppendLine(CultureInfo.InvariantCulture, $"### CPU per request (ms of CPU time, user + system, from /proc/<pid>/stat; {Machine})");
        o.AppendLine();
        o.AppendLine("| case | path | " + string.Join(" | ", s_services) + " | all services |");
        o.AppendLine("|---|---|" + string.Concat(Enumerable.Repeat("--:|", s_services.Length + 1)));
        foreach (var key in new[] { "c1-0ms", "c8-0ms", "sat-0ms", "stream-c1", "stream-paced", "pii-c1-0ms", "pii-sat-0ms" })
        {
            var s = BenchRunner.Scenarios.First(x => x.Key == key);
            foreach (var path in new[] { BenchRunner.Direct, BenchRunner.Gateway })
            {
                var p = r[key][path];
                var n = Math.Max(1, p.Load.Requests);
                var cells = s_services.Select(name => p.CpuTicks.TryGetValue(name, out var t) ? (t * ProcessStats.MillisecondsPerTick / n).ToString("F3", CultureInfo.InvariantCulture) : "–");
                var all = p.CpuTicks.Values.Sum() * ProcessStats.MillisecondsPerTick / n;
                o.AppendLine(CultureInfo.InvariantCulture, $"| {s.Title} | {path} | {string.Join(" | ", cells)} | {all:F3} |");
            }
        }

        o.AppendLine();
        o.AppendLine("### Allocated per request (KB, from each service's /metrics: `dotnet.gc.heap.total_allocated`; independent of machine load)");
        o.AppendLine();
        o.AppendLine("| case | path | router | policy | accounting | guardrails |");
        o.AppendLine("|---|---|--:|--:|--:|--:|");
        foreach (var key in new[] { "c1-0ms", "sat-0ms", "stream-c1", "pii-sat-0ms" })
        {
            var s = BenchRunner.Scenarios.First(x => x.Key == key);
            var p = r[key][BenchRunner.Gateway];
            var n = Math.Max(1, p.Load.Requests);
            var cells = new[] { "router", "policy", "accounting", "guardrails" }
                .Select(name => p.AllocatedBytes.TryGetValue(name, out var b) ? (b / 1024.0 / n).ToString("F1", CultureInfo.InvariantCulture) : "–");
            o.AppendLine(CultureInfo.InvariantCulture, $"| {s.Title} | gateway | {string.Join(" | ", cells)} |");
        }

        o.AppendLine();
        o.AppendLine(CultureInfo.InvariantCulture, $"### Memory (RSS, MB; {Machine})");
        o.AppendLine();
        o.AppendLine("| process | after start-up | peak (sampled after each segment) | after the run | target |");
        o.AppendLine("|---|--:|--:|--:|---|");
        foreach (var name in new[] { "router", "policy", "accounting", "guardrails", "mock" })
        {
            if (!run.RssBeforeKb.ContainsKey(name))
            {
                continue;
            }

            var target = name == "router" ? Verdict(run.RssPeakKb[name] <= 200 * 1024, "≤ 200 MB under load") : "";
            o.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {run.RssBeforeKb[name] / 1024.0:F0} | {run.RssPeakKb[name] / 1024.0:F0} | {run.RssAfterKb[name] / 1024.0:F0} | {target} |");
        }

        o.AppendLine();
        o.AppendLine("![latency distribution and throughput](overhead.png)");
        o.AppendLine();
        return o.ToString();
    }

    private static string Ms(Histogram h, double p) => h.Count == 0 ? "–" : h.PercentileMs(p).ToString("F3", CultureInfo.InvariantCulture);

    private static string Added(Histogram direct, Histogram gateway, double p)
    {
        if (direct.Count == 0 || gateway.Count == 0)
        {
            return "–";
        }

        var d = direct.PercentileMs(p);
        var g = gateway.PercentileMs(p);
        return string.Create(CultureInfo.InvariantCulture, $"{g - d:+0.000;-0.000} ({(d > 0 ? $"{g / d:F2}×" : "–")})");
    }

    private static string Verdict(bool met, string target) => (met ? "met" : "**not met**") + (target.Length > 0 ? $" ({target})" : "");

    private static string CpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        }
        catch (IOException)
        {
            return "unknown CPU";
        }
    }
}
