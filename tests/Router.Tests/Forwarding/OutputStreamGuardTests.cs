extern alias GuardrailsApp;

using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Guardrails.Grpc;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Providers;
using Gateway.Aspire.Testing;
using GuardrailsApp::Gateway.Aspire.Guardrails.Checks;
using GuardrailsServiceComposition = GuardrailsApp::Gateway.Aspire.Guardrails.Extensions.ApplicationServiceExtensions;

namespace Gateway.Aspire.Router.Tests.Forwarding;

/// <summary>
/// The router's stream guard against the real guardrails service over gRPC, fed upstream reads of
/// one or many events: one round trip per read whatever the number of events in it, the sliding
/// window still spanning events and reads, and a block releasing nothing of its read.
/// </summary>
public sealed class OutputStreamGuardTests : IAsyncLifetime
{
    private const string Rules = """
        type: gateway-guardrails-config
        name: guard-tests
        rules:
          - id: pii
            output:
              - { check: pii, action: mask }
          - id: safety
            output:
              - { check: deny_list, action: block, name: codenames, keywords: [Project Falcon] }
        """;

    private string _configPath = "";
    private GrpcServiceTestHost _host = null!;
    private Guardrails.Grpc.Guardrails.GuardrailsClient _client = null!;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _configPath = Path.Combine(Path.GetTempPath(), $"gateway-guard-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(_configPath, Rules, Cancellation);
        _host = await GrpcServiceTestHost.StartAsync(
            typeof(GuardrailsService).Assembly,
            new Dictionary<string, string?> { ["GATEWAY_CONFIG"] = _configPath },
            builder => GuardrailsServiceComposition.AddApplicationServices(builder),
            app => app.MapGrpcService<GuardrailsService>());
        _client = new Guardrails.Grpc.Guardrails.GuardrailsClient(_host.Channel);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        File.Delete(_configPath);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(1000)]
    public async Task Each_read_costs_one_round_trip_and_a_card_split_over_events_and_reads_is_masked(int eventsPerRead)
    {
        var text = "Card 4111 1111 1111 1111 on file; the rest of the answer is ordinary prose that goes on for a while.";
        var events = text.Chunk(2).Select(piece => Chunk($"{{\"content\":{JsonSerializer.Serialize(new string(piece))}}}", "null")).ToList();
        events.Add(Chunk("{}", "\"stop\""));
        events.Add("data: [DONE]\n\n");
        var reads = events.Chunk(eventsPerRead).Select(read => Encoding.UTF8.GetBytes(string.Concat(read))).ToList();

        var (output, guard) = await RunAsync(reads);

        Assert.Equal(text.Replace("4111 1111 1111 1111", "[CARD_1]", StringComparison.Ordinal), OpenAiText(output));
        Assert.EndsWith("data: [DONE]\n\n", output, StringComparison.Ordinal);
        // Every read with text or a finish costs one round trip; [DONE] alone (nothing left open) costs none.
        Assert.Equal(reads.Count(read => Encoding.UTF8.GetString(read).Contains("chat.completion.chunk", StringComparison.Ordinal)), guard.RoundTrips);
    }

    [Fact]
    public async Task A_block_in_a_read_releases_nothing_of_that_read()
    {
        var first = Chunk("""{"content":"All fine so far. "}""", "null");
        var second = string.Concat(Chunk("""{"content":"Now Project "}""", "null"), Chunk("""{"content":"Falcon"}""", "null"));

        var output = new MemoryStream();
        var writer = PipeWriter.Create(output);
        await using var guard = new OutputStreamGuard(_client, Context(), WireFormat.OpenAi, TimeSpan.FromSeconds(10), Cancellation);
        Assert.True(await guard.WriteAsync(Encoding.UTF8.GetBytes(first), writer));
        Assert.False(await guard.WriteAsync(Encoding.UTF8.GetBytes(second), writer));
        await writer.FlushAsync(Cancellation);

        Assert.Equal("guardrail_blocked", guard.StopCode);
        Assert.Equal(("safety/codenames", "codenames"), guard.BlockedBy);
        Assert.DoesNotContain("Now", Encoding.UTF8.GetString(output.ToArray()), StringComparison.Ordinal);
        Assert.Equal(2, guard.RoundTrips);
    }

    private async Task<(string Output, OutputStreamGuard Guard)> RunAsync(IEnumerable<byte[]> reads)
    {
        var output = new MemoryStream();
        var writer = PipeWriter.Create(output);
        var guard = new OutputStreamGuard(_client, Context(), WireFormat.OpenAi, TimeSpan.FromSeconds(10), Cancellation);
        await using (guard)
        {
            foreach (var read in reads)
            {
                Assert.True(await guard.WriteAsync(read, writer), guard.StopMessage);
            }

            guard.Complete(writer);
        }

        await writer.FlushAsync(Cancellation);
        return (Encoding.UTF8.GetString(output.ToArray()), guard);
    }

    private static CheckOutputRequest Context() =>
        new() { RequestId = "guard-test", Model = "echo/m", Api = "/v1/chat/completions" };

    private static string Chunk(string delta, string finish) =>
        $"data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finish}}}]}}\n\n";

    private static string OpenAiText(string sse)
    {
        var text = new StringBuilder();
        foreach (var line in sse.Split('\n').Where(l => l.StartsWith("data: {", StringComparison.Ordinal)))
        {
            using var chunk = JsonDocument.Parse(line["data: ".Length..]);
            foreach (var choice in chunk.RootElement.GetProperty("choices").EnumerateArray())
            {
                if (choice.GetProperty("delta").TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
                {
                    text.Append(content.GetString());
                }
            }
        }

        return text.ToString();
    }
}
