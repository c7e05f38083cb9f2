using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Anthropic;
using Anthropic.Core;
using Gateway.Aspire.Router.Tests.TestHosts;
using OpenAI;
using OpenAI.Chat;

namespace Gateway.Aspire.Router.Tests.Providers.EndToEnd;

/// <summary>
/// The official OpenAI and Anthropic SDKs and raw HTTP, pointed at the running router over real
/// HTTP; plus the mock upstream's deterministic token arithmetic, so tests can assert exact usage.
/// </summary>
internal static class GatewayClients
{
    /// <summary>The weather tool both SDKs offer: the mock calls the first offered tool when asked about the weather.</summary>
    public const string WeatherSchema = """{"type":"object","properties":{"city":{"type":"string","description":"City name"}},"required":["city"]}""";

    public static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    /// <summary>
    /// OpenAI SDK options for the router, without retries: the SDK would otherwise retry 429/5xx
    /// (honouring Retry-After), which hides the status under test and slows the suite.
    /// </summary>
    public static OpenAIClientOptions OpenAiOptions(RouterAppFixture app, string? requestId = null)
    {
        var options = new OpenAIClientOptions { Endpoint = new Uri(app.RouterUrl, "/v1"), RetryPolicy = new ClientRetryPolicy(maxRetries: 0) };
        if (requestId is not null)
        {
            options.AddPolicy(new HeaderPolicy("x-request-id", requestId), PipelinePosition.PerCall);
        }

        return options;
    }

    public static ChatClient Chat(RouterAppFixture app, string model, string token = TestPolicy.GoodToken, string? requestId = null) =>
        new(model, new ApiKeyCredential(token), OpenAiOptions(app, requestId));

    public static ChatTool WeatherTool { get; } =
        ChatTool.CreateFunctionTool("get_weather", "Current weather for a city", BinaryData.FromString(WeatherSchema));

    /// <summary>
    /// The Anthropic SDK against the router's <c>/v1/messages</c>: the key in <c>x-api-key</c>, or as a
    /// bearer token when <paramref name="bearer"/> (the SDK's AuthToken, as Claude Code sends gateway keys).
    /// With <paramref name="validate"/> the SDK checks every answer against Anthropic's schema.
    /// </summary>
    public static AnthropicClient AnthropicSdk(
        RouterAppFixture app, string key = TestPolicy.GoodToken, bool bearer = false, string? requestId = null, bool validate = true) => new(new ClientOptions
    {
        BaseUrl = app.RouterUrl.GetLeftPart(UriPartial.Authority),
        ApiKey = bearer ? null : key,
        AuthToken = bearer ? key : null,
        MaxRetries = 0,
        ResponseValidation = validate,
        Timeout = TimeSpan.FromSeconds(30),
        ExtraHeaders = requestId is null ? null : new Dictionary<string, string> { ["x-request-id"] = requestId },
    });

    /// <summary>The mock's uncached prompt tokens for these turns: four a turn plus one per four characters.</summary>
    public static int MockPromptTokens(params string[] turns) => turns.Sum(turn => 4 + (turn.Length + 3) / 4);

    /// <summary>The mock's text answer to <paramref name="question"/>; one output token per word.</summary>
    public static string MockAnswer(string question) => "Mock answer to: " + (question.Length > 40 ? question[..40] : question);

    public static int Words(string text) => text.Split(' ').Length;

    public static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>A fresh request id the router accepts and echoes, to find the call's ledger record.</summary>
    public static string NewRequestId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N");

    /// <summary>POSTs <paramref name="body"/> and returns the response (disposed by the caller) and its JSON body.</summary>
    public static async Task<(HttpResponseMessage Response, JsonElement Json)> PostAsync(
        RouterAppFixture app, string path, string body, string? requestId = null, Action<HttpRequestHeaders>? headers = null)
    {
        using var client = app.CreateClient();
        using var request = Post(path, body, requestId, headers);
        var response = await client.SendAsync(request, Cancellation);
        var text = await response.Content.ReadAsStringAsync(Cancellation);
        return (response, text.StartsWith('{') ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    /// <summary>POSTs a streamed request and returns the response and its server-sent events as (event name, data).</summary>
    public static async Task<(HttpResponseMessage Response, List<(string Event, string Data)> Events)> StreamAsync(
        RouterAppFixture app, string path, string body, string? requestId = null, Action<HttpRequestHeaders>? headers = null)
    {
        using var client = app.CreateClient();
        using var request = Post(path, body, requestId, headers);
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancellation);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Cancellation));
        var events = new List<(string, string)>();
        var name = "";
        while (await reader.ReadLineAsync(Cancellation) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line["event: ".Length..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add((name, line["data: ".Length..]));
                name = "";
            }
        }

        return (response, events);
    }

    private static HttpRequestMessage Post(string path, string body, string? requestId, Action<HttpRequestHeaders>? headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Json(body) };
        if (requestId is not null)
        {
            request.Headers.Add("x-request-id", requestId);
        }

        headers?.Invoke(request.Headers);
        return request;
    }

    /// <summary>Sets one header (<c>x-request-id</c>, <c>x-gateway-metadata</c>) on every request of an OpenAI SDK client.</summary>
    public sealed class HeaderPolicy(string name, string value) : PipelinePolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            message.Request.Headers.Set(name, value);
            ProcessNext(message, pipeline, currentIndex);
        }

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            message.Request.Headers.Set(name, value);
            return ProcessNextAsync(message, pipeline, currentIndex);
        }
    }
}
