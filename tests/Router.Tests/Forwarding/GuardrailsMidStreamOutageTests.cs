using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Tests.Providers.EndToEnd;
using Gateway.Aspire.Router.Tests.TestHosts;

namespace Gateway.Aspire.Router.Tests.Forwarding;

/// <summary>A guarded router whose output PII rules either fail open or fail closed; each test kills its guardrails service mid-stream.</summary>
public sealed class GuardrailsMidStreamFixture : GuardrailsAppFixture
{
    /// <inheritdoc />
    protected override string RulesDocument => """
        type: gateway-guardrails-config
        name: mid-stream-outage
        rules:
          - id: open-mask
            when: { metadata: { guard: open } }
            output:
              - { check: pii, action: mask }
            on_error: fail_open
          - id: closed-mask
            when: { metadata: { guard: closed } }
            output:
              - { check: pii, action: mask }
            on_error: fail_closed
        """;
}

/// <summary>
/// The guardrails service dies in the middle of a guarded stream (killed over real gRPC while the
/// mock sends three characters every 150 ms). The PII window is holding the card number back at
/// that moment: under fail_open that text still reaches the client, unchanged, and the rest follows
/// unchecked; under fail_closed the stream ends with an error event and the card never appears.
/// Both record the outage in the ledger as an input outage does.
/// </summary>
public sealed class GuardrailsMidStreamOutageTests(RouterAppFixture app)
{
    private const string Message = "Card 4111 1111 1111 1111 is on file for Jane";

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("/v1/chat/completions")]
    [InlineData("/v1/messages")]
    public async Task Under_fail_open_the_held_back_text_is_released_unchanged_and_the_rest_relayed(string path)
    {
        await using var guarded = new GuardrailsMidStreamFixture();
        await guarded.StartAsync(app);

        var (response, events) = await StreamKillingGuardrailsAsync(guarded, path, "open");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Message, Text(events));
        Assert.Contains(events, e => e == "[DONE]" || e.Contains("\"message_stop\"", StringComparison.Ordinal));
        var record = await app.Ledger.WaitForAsync(response.Headers.GetValues("x-request-id").Single());
        Assert.Equal("", record.ErrorType);
        Assert.Contains(record.Guardrails, f => f is { Rule: "open-mask", Category: "unavailable", Action: "fail_open", Stage: "output" });
    }

    [Theory]
    [InlineData("/v1/chat/completions")]
    [InlineData("/v1/messages")]
    public async Task Under_fail_closed_the_stream_ends_with_an_error_event_and_the_held_back_text_never_leaves(string path)
    {
        await using var guarded = new GuardrailsMidStreamFixture();
        await guarded.StartAsync(app);

        var (response, events) = await StreamKillingGuardrailsAsync(guarded, path, "closed");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("1111", Text(events), StringComparison.Ordinal);
        using var last = JsonDocument.Parse(events[^1]);
        var error = last.RootElement.GetProperty("error");
        Assert.Contains("could not check the rest of this answer", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        if (path == "/v1/chat/completions")
        {
            Assert.Equal("guardrails_unavailable", error.GetProperty("code").GetString());
        }
        else
        {
            Assert.Equal("error", last.RootElement.GetProperty("type").GetString());
        }

        var record = await app.Ledger.WaitForAsync(response.Headers.GetValues("x-request-id").Single());
        Assert.Equal("guardrails_unavailable", record.ErrorType);
        Assert.Contains(record.Guardrails, f => f is { Rule: "closed-mask", Category: "unavailable", Action: "fail_closed", Stage: "output" });
    }

    /// <summary>Streams <see cref="Message"/> and kills the guardrails service once the first event has arrived; returns the <c>data:</c> payloads.</summary>
    private static async Task<(HttpResponseMessage Response, List<string> Events)> StreamKillingGuardrailsAsync(GuardrailsAppFixture guarded, string path, string guard)
    {
        using var client = guarded.Client();
        var body = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model"] = "echoslow/m",
            ["stream"] = true,
            ["max_tokens"] = 100,
            ["messages"] = new[] { new Dictionary<string, string> { ["role"] = "user", ["content"] = Message } },
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = GatewayClients.Json(body) };
        request.Headers.Add("x-gateway-metadata", $$"""{"guard":"{{guard}}"}""");
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancellation);
        var events = new List<string>();
        try
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Cancellation));
            while (await reader.ReadLineAsync(Cancellation) is { } line)
            {
                if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    events.Add(line["data: ".Length..]);
                    if (events.Count == 1)
                    {
                        await guarded.KillGuardrailsAsync();
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            // The router cuts the connection after an error event.
        }

        return (response, events);
    }

    /// <summary>The answer text of OpenAI chat chunks or Anthropic <c>text_delta</c> events.</summary>
    private static string Text(List<string> events)
    {
        var text = new StringBuilder();
        foreach (var data in events.Where(e => e.StartsWith('{')))
        {
            using var evt = JsonDocument.Parse(data);
            var root = evt.RootElement;
            if (root.TryGetProperty("choices", out var choices))
            {
                foreach (var choice in choices.EnumerateArray())
                {
                    if (choice.GetProperty("delta").TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
                    {
                        text.Append(content.GetString());
                    }
                }
            }
            else if (root.TryGetProperty("delta", out var delta) && delta.TryGetProperty("text", out var part))
            {
                text.Append(part.GetString());
            }
        }

        return text.ToString();
    }
}
