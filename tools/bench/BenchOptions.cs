namespace Gateway.Aspire.Bench;

/// <summary>Settings of one benchmark run.</summary>
internal sealed record BenchOptions
{
    public const string Usage = """
        Gateway.Aspire overhead benchmark (issue 8). Starts the whole application through AppHost's
        Program and measures client → mock upstream against client → router → mock upstream.

          dotnet run -c Release --project tools/bench -- [--quick] [--profile] [--no-wrk] [--output DIR]

          --quick     one round of 3 s segments (about 2 minutes with start-up) instead of 3 rounds of 8 s
          --profile   after the rounds, record the gateway at saturation with `perf` (writes profile.txt)
          --no-wrk    use the built-in .NET load loop for the non-streaming cases too
          --output    where README.md's results, results.md and overhead.png go (default: docs/perf)
          --cases     only these cases, comma-separated keys (c1-0ms, c1-50ms, c8-0ms, c8-50ms, sat-0ms,
                      stream-c1, stream-paced, pii-c1-0ms, pii-sat-0ms): for A/B checks, with --output elsewhere
          --env       NAME=VALUE set for every service (repeatable), e.g. a runtime setting to compare
          --admit     instead: the policy Admit benchmark (a gRPC load loop against the started policy
                      service and its Redis; p50/p99 and CPU per call)
          --channels  instead: the gRPC client stack benchmark (Admit through the router's old and new
                      client setups, alternated in this process; client allocations and CPU per call)
          --events    instead: the gateway event publisher alone against a private redis-server, the
                      router's two events per request at 600 and 2,750 requests/s, publishing on and off:
                      bytes allocated, CPU and Redis commands per event (with --quick: 1 round of 3 s)
          --soak D    instead: a memory soak of duration D (10m, 90s): a constant paced load through the
                      gateway path, RSS of every process and GC heap of every .NET service every 10 s,
                      RSS slope in MB/min; writes soak.md and soak.png to --output
          --soak-rate requests/s of the soak (default 300; a moderate share of the 2-core machine)
          --soak-workers  concurrent connections of the soak (default 8; 64 with a high rate = saturation)

        Needs wrk (Debian/Ubuntu: apt-get install wrk) unless --no-wrk; --profile needs perf (linux-perf).
        """;

    /// <summary>Short run for a quick check.</summary>
    public bool Quick { get; init; }

    /// <summary>Record a CPU profile of the gateway at saturation with perf.</summary>
    public bool Profile { get; init; }

    /// <summary>Use wrk for the non-streaming cases (else the .NET load loop).</summary>
    public bool UseWrk { get; init; } = true;

    /// <summary>Keys of the cases to run; empty: all.</summary>
    public IReadOnlyList<string> Cases { get; init; } = [];

    /// <summary>Environment variables for every service (the AppHost passes its own environment on).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Environment { get; init; } = [];

    /// <summary>Run the Admit benchmark instead of the overhead benchmark.</summary>
    public bool Admit { get; init; }

    /// <summary>Run the gRPC client stack benchmark instead of the overhead benchmark.</summary>
    public bool Channels { get; init; }
    /// <summary>Run the gateway event publisher benchmark instead of the overhead benchmark.</summary>
    public bool Events { get; init; }

    /// <summary>Run the memory soak for this long instead of the overhead benchmark.</summary>
    public TimeSpan? SoakDuration { get; init; }

    /// <summary>Requests per second of the soak's paced load.</summary>
    public int SoakRate { get; init; } = 300;

    /// <summary>Concurrent connections of the soak's load.</summary>
    public int SoakWorkers { get; init; } = 8;

    /// <summary>Where results go.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Interleaved rounds: each runs every scenario direct and through the gateway.</summary>
    public int Rounds => Quick ? 1 : 3;

    /// <summary>Time bound of one segment (one scenario on one path in one round).</summary>
    public TimeSpan SegmentDuration => TimeSpan.FromSeconds(Quick ? 3 : 8);

    /// <summary>Request bound of one segment.</summary>
    public int MaxRequestsPerSegment => Quick ? 100_000 : 250_000;

    /// <summary>Warm-up per path before measuring (JIT tiering, connection pools, caches).</summary>
    public TimeSpan WarmUp => TimeSpan.FromSeconds(Quick ? 3 : 6);

    public static BenchOptions? Parse(string[] args)
    {
        var quick = false;
        var profile = false;
        var wrk = true;
        string? output = null;
        var admit = false;
        var channels = false;
        var events = false;
        TimeSpan? soak = null;
        var soakRate = 300;
        var soakWorkers = 8;
        var cases = new List<string>();
        var environment = new List<KeyValuePair<string, string>>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    quick = true;
                    break;
                case "--profile":
                    profile = true;
                    break;
                case "--no-wrk":
                    wrk = false;
                    break;
                case "--output" when i + 1 < args.Length:
                    output = args[++i];
                    break;
                case "--admit":
                    admit = true;
                    break;
                case "--channels":
                    channels = true;
                    break;
                case "--events":
                    events = true;
                    break;
                case "--soak" when i + 1 < args.Length && ParseDuration(args[i + 1]) is { } soakDuration:
                    soak = soakDuration;
                    i++;
                    break;
                case "--soak-rate" when i + 1 < args.Length && int.TryParse(args[i + 1], out var rate) && rate > 0:
                    soakRate = rate;
                    i++;
                    break;
                case "--soak-workers" when i + 1 < args.Length && int.TryParse(args[i + 1], out var workers) && workers > 0:
                    soakWorkers = workers;
                    i++;
                    break;
                case "--cases" when i + 1 < args.Length:
                    cases.AddRange(args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                    if (cases.Any(c => BenchRunner.Scenarios.All(s => s.Key != c)))
                    {
                        return null;
                    }

                    break;
                case "--env" when i + 1 < args.Length && args[i + 1].IndexOf('=') > 0:
                    var pair = args[++i].Split('=', 2);
                    environment.Add(new(pair[0], pair[1]));
                    break;
                default:
                    return null;
            }
        }

        return new BenchOptions
        {
            Quick = quick,
            Profile = profile,
            UseWrk = wrk,
            Admit = admit,
            Channels = channels,
            Events = events,
            SoakDuration = soak,
            SoakRate = soakRate,
            SoakWorkers = soakWorkers,
            Cases = cases,
            Environment = environment,
            OutputDirectory = Path.GetFullPath(output ?? Path.Combine(RepositoryRoot(), "docs", "perf")),
        };
    }

    /// <summary>"10m", "90s" or plain seconds; null when not a positive duration.</summary>
    private static TimeSpan? ParseDuration(string text)
    {
        var (number, unit) = text.EndsWith('m') ? (text[..^1], 60) : text.EndsWith('s') ? (text[..^1], 1) : (text, 1);
        return double.TryParse(number, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value) && value > 0
            ? TimeSpan.FromSeconds(value * unit)
            : null;
    }

    public static string RepositoryRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "Gateway.Aspire.sln")))
                {
                    return directory.FullName;
                }
            }
        }

        throw new InvalidOperationException("Run the benchmark inside the repository (Gateway.Aspire.sln not found).");
    }
}
