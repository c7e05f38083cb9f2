using System.Buffers;
using System.Text;
using Gateway.Aspire.Router.Forwarding;

namespace Gateway.Aspire.Router.Tests.Forwarding;

public sealed class SseUsageRelayTests
{
    private const string Chunk1 = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n";
    private const string Chunk2 = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n";
    private const string UsageChunk = "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":7,\"total_tokens\":18,\"prompt_tokens_details\":{\"cached_tokens\":3}}}\n\n";
    private const string Done = "data: [DONE]\n\n";
    private const string Stream = Chunk1 + Chunk2 + UsageChunk + Done;

    private static (string Output, TokenUsage? Usage, List<int> WrittenPerRead) Run(IEnumerable<string> reads, bool drop)
    {
        using var relay = new SseUsageRelay(drop);
        var output = new ArrayBufferWriter<byte>();
        var written = new List<int>();
        foreach (var read in reads)
        {
            written.Add(relay.Process(Encoding.UTF8.GetBytes(read), output));
        }

        relay.Complete(output);
        return (Encoding.UTF8.GetString(output.WrittenSpan), relay.Usage, written);
    }

    [Fact]
    public void Whole_stream_is_relayed_and_usage_read_when_the_client_asked_for_it()
    {
        var (output, usage, _) = Run([Stream], drop: false);

        Assert.Equal(Stream, output);
        Assert.Equal(new TokenUsage(11, 7, 3), usage);
    }

    [Fact]
    public void Injected_usage_chunk_is_dropped_but_billed()
    {
        var (output, usage, _) = Run([Stream], drop: true);

        Assert.Equal(Chunk1 + Chunk2 + Done, output);
        Assert.Equal(new TokenUsage(11, 7, 3), usage);
    }

    [Fact]
    public void Events_split_at_every_byte_are_reassembled_and_relayed_only_when_complete()
    {
        var reads = Stream.Select(c => c.ToString()).ToList();

        var (output, usage, written) = Run(reads, drop: true);

        Assert.Equal(Chunk1 + Chunk2 + Done, output);
        Assert.Equal(new TokenUsage(11, 7, 3), usage);
        // Nothing is written until an event's blank line arrives, and then the whole event at once.
        Assert.Equal(Chunk1.Length, written[Chunk1.Length - 1]);
        Assert.All(written.Take(Chunk1.Length - 1), w => Assert.Equal(0, w));
    }

    [Fact]
    public void Crlf_terminators_split_across_reads_are_recognised()
    {
        var crlf = Stream.Replace("\n\n", "\r\n\r\n", StringComparison.Ordinal);
        var cut = crlf.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 2;

        var (output, usage, written) = Run([crlf[..cut], crlf[cut..]], drop: true);

        Assert.Equal(0, written[0]);
        Assert.DoesNotContain("prompt_tokens", output, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\r\n\r\n", output, StringComparison.Ordinal);
        Assert.Equal(11, usage?.PromptTokens);
    }

    [Fact]
    public void Trailing_event_without_blank_line_is_relayed_at_completion()
    {
        var (output, _, _) = Run([Chunk1 + "data: [DONE]"], drop: true);

        Assert.Equal(Chunk1 + "data: [DONE]", output);
    }

    [Fact]
    public void Large_events_grow_the_buffer()
    {
        var big = "data: {\"choices\":[{\"delta\":{\"content\":\"" + new string('x', 100_000) + "\"}}]}\n\n";

        var (output, _, _) = Run([big[..50_000], big[50_000..], UsageChunk], drop: true);

        Assert.Equal(big, output);
    }
}
