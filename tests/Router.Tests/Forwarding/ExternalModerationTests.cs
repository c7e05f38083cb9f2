using System.Net;
using System.Text.Json;
using Gateway.Aspire.Router.Tests.Providers.EndToEnd;
using Gateway.Aspire.Router.Tests.TestHosts;

namespace Gateway.Aspire.Router.Tests.Forwarding;

/// <summary>
/// Moderation checks that name a catalog model (<c>model: mod/omni</c>): the router asks the mock's
/// <c>/v1/moderations</c> (which flags violence exactly when a text says "attack") and guardrails decides
/// on its scores; when the model answers 500 or too late, the built-in classifier decides instead.
/// </summary>
public sealed class ExternalModerationTests(RouterAppFixture app, GuardrailsAppFixture guarded) : IClassFixture<GuardrailsAppFixture>, IAsyncLifetime
{
    // The mock model flags this; the built-in classifier does not.
    private const string MockViolent = "Our chess club will attack the queen side at dawn";

    // The built-in classifier flags this as violence; the mock model does not.
    private const string BuiltInViolent = "I am going to kill you and your family tonight";

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => new(guarded.StartAsync(app));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task The_model_decides_when_it_answers()
    {
        var (blocked, error) = await PostAsync(MockViolent, "external");
        Assert.Equal(HttpStatusCode.BadRequest, blocked.StatusCode);
        Assert.Contains("external/moderation", error, StringComparison.Ordinal);
        Assert.Contains("violence", error, StringComparison.Ordinal);

        // What the built-in classifier would block passes: the model's scores were used, not the fallback.
        var (allowed, _) = await PostAsync(BuiltInViolent, "external");
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        var record = await app.Ledger.WaitForAsync(RequestId(allowed));
        Assert.DoesNotContain(record.Guardrails, f => f.Action == "fallback");
    }

    [Theory]
    [InlineData("external-broken")]
    [InlineData("external-slow")]
    public async Task The_built_in_classifier_decides_when_the_model_fails_or_times_out(string guard)
    {
        var (blocked, error) = await PostAsync(BuiltInViolent, guard);
        Assert.Equal(HttpStatusCode.BadRequest, blocked.StatusCode);
        Assert.Contains($"{guard}/moderation", error, StringComparison.Ordinal);
        var record = await app.Ledger.WaitForAsync(RequestId(blocked));
        Assert.Contains(record.Guardrails, f => f is { Rule: var rule, Category: "model_unavailable", Action: "fallback" } && rule == guard);

        var (allowed, _) = await PostAsync(MockViolent, guard);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    private static string RequestId(HttpResponseMessage response) => response.Headers.GetValues("x-request-id").Single();

    private async Task<(HttpResponseMessage Response, string Text)> PostAsync(string message, string guard)
    {
        using var client = guarded.Client();
        var body = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model"] = "echo/m",
            ["messages"] = new[] { new Dictionary<string, string> { ["role"] = "user", ["content"] = message } },
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = GatewayClients.Json(body) };
        request.Headers.Add("x-gateway-metadata", $$"""{"guard":"{{guard}}"}""");
        var response = await client.SendAsync(request, Cancellation);
        return (response, await response.Content.ReadAsStringAsync(Cancellation));
    }
}
