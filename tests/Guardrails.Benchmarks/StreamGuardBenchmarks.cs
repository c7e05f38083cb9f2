using BenchmarkDotNet.Attributes;

namespace Gateway.Aspire.Guardrails.Benchmarks;

/// <summary>
/// One 200-delta streamed answer through the router's output guard and the real guardrails service
/// over loopback gRPC (<see cref="StreamGuardHarness"/>), with the upstream delivering 1, 10 or all
/// events per read. Round trips per stream are printed by the <c>stream</c> mode of Program.
/// </summary>
[MemoryDiagnoser]
public class StreamGuardBenchmarks
{
    private StreamGuardHarness _harness = null!;
    private byte[][] _reads = [];

    /// <summary>Events per upstream read.</summary>
    [Params(1, 10, 202)]
    public int DeltasPerRead { get; set; }

    /// <summary>Starts the service and cuts the stream into reads.</summary>
    [GlobalSetup]
    public async Task SetupAsync()
    {
        _harness = await StreamGuardHarness.StartAsync();
        _reads = StreamGuardHarness.Reads(DeltasPerRead);
    }

    /// <summary>Stops the service.</summary>
    [GlobalCleanup]
    public async Task CleanupAsync() => await _harness.DisposeAsync();

    /// <summary>One stream, start to <c>[DONE]</c>.</summary>
    [Benchmark]
    public async Task<long> Stream200Deltas() => (await _harness.RunAsync(_reads)).Bytes;
}
