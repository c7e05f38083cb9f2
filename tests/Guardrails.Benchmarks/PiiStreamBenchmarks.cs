using BenchmarkDotNet.Attributes;
using Gateway.Aspire.Guardrails.Pii;

namespace Gateway.Aspire.Guardrails.Benchmarks;

/// <summary>A 1 KB answer streamed through <see cref="StreamingPiiFilter"/> in deltas of 4 characters (about one token each), masking and restoring.</summary>
[MemoryDiagnoser]
public class PiiStreamBenchmarks
{
    private readonly PiiScanner _scanner = new();
    private readonly string[] _deltas = [.. Prompts.Support.Chunk(4).Select(c => new string(c))];

    [Benchmark]
    public int StreamOneKilobyte()
    {
        var filter = new StreamingPiiFilter(_scanner, null, new PiiMaskSession(), mask: true, restore: true);
        var length = 0;
        foreach (var delta in _deltas)
        {
            length += filter.Push(delta).Length;
        }

        return length + filter.Flush().Length;
    }
}
