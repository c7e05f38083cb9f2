using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Text;
using Anthropic;
using Anthropic.Models.Messages;
using Gateway.Aspire.Router.Tests.Telemetry;
using Gateway.Aspire.Router.Tests.TestHosts;
using OpenAI;
using OpenAI.Chat;
using static Gateway.Aspire.Router.Tests.Providers.EndToEnd.GatewayClients;

namespace Gateway.Aspire.Router.Tests.Signing;

/// <summary>
/// Signed responses over real HTTP (the router of <see cref="TelemetryAppFixture"/> signs with
/// <see cref="TelemetryAppFixture.SigningSecret"/>): the header of complete bodies, the comment line of
/// each stream event, and the official OpenAI and Anthropic SDKs reading signed streams unharmed.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class SignedResponsesTests(RouterAppFixture app, TelemetryAppFixture telemetry) : IAsyncLifetime
{
    private const string Secret = TelemetryAppFixture.SigningSecret;

    public ValueTask InitializeAsync() => new(telemetry.StartAsync(app));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async Task<(HttpResponseMessage Response, byte[] Body)> PostAsync(string path, string body, string? token = TestPolicy.GoodToken)
    {
        using var client = telemetry.Client(token);
        var response = await client.PostAsync(path, Json(body), Cancellation);
        return (response, await response.Content.ReadAsByteArrayAsync(Cancellation));
    }

    [Fact]
    public async Task A_json_answer_carries_the_hmac_of_its_exact_bytes()
    {
        var (response, body) = await PostAsync("/v1/chat/completions", """{"model":"tele/gpt-4o-mini","messages":[{"role":"user","content":"Sign me"}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body.Length, response.Content.Headers.ContentLength);
        var signature = Assert.Single(response.Headers.GetValues("x-gateway-signature"));
        Assert.Matches("^[0-9a-f]{64}$", signature);
        Assert.True(SignatureVerifier.VerifyBody(body, signature, Secret));
        Assert.False(SignatureVerifier.VerifyBody(body, signature, Secret + "x"));
        Assert.Contains(MockAnswer("Sign me"), Encoding.UTF8.GetString(body), StringComparison.Ordinal);
        Assert.DoesNotContain("x-gateway-signature", Encoding.UTF8.GetString(body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cache_hit_is_signed_like_the_answer_it_replays()
    {
        var body = $$"""{"model":"tele/gpt-4o-mini","messages":[{"role":"user","content":"Cache and sign {{Guid.NewGuid():N}}"}]}""";
        using var client = telemetry.Client();
        client.DefaultRequestHeaders.Add("x-gateway-cache-ttl", "60");

        using var miss = await client.PostAsync("/v1/chat/completions", Json(body), Cancellation);
        using var hit = await client.PostAsync("/v1/chat/completions", Json(body), Cancellation);

        Assert.Equal(("MISS", "HIT"), (miss.Headers.GetValues("x-gateway-cache").Single(), hit.Headers.GetValues("x-gateway-cache").Single()));
        var hitBody = await hit.Content.ReadAsByteArrayAsync(Cancellation);
        Assert.Equal(await miss.Content.ReadAsByteArrayAsync(Cancellation), hitBody);
        Assert.True(SignatureVerifier.VerifyBody(hitBody, hit.Headers.GetValues("x-gateway-signature").Single(), Secret));
    }

    [Fact]
    public async Task Errors_are_signed_too()
    {
        var (response, body) = await PostAsync("/v1/chat/completions", """{"model":"tele/gpt-4o-mini","messages":[]}""", token: "gw-wrong");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.True(SignatureVerifier.VerifyBody(body, response.Headers.GetValues("x-gateway-signature").Single(), Secret));
    }

    [Theory]
    [InlineData("/v1/chat/completions", """{"model":"tele/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Stream and sign"}]}""")]
    [InlineData("/v1/messages", """{"model":"claude/sonnet","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"Stream and sign"}]}""")]
    [InlineData("/v1/messages", """{"model":"tele/gpt-4o-mini","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"Stream and sign"}]}""")]
    public async Task Every_event_of_a_stream_is_signed(string path, string body)
    {
        var (response, stream) = await PostAsync(path, body);

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.False(response.Headers.Contains("x-gateway-signature"));
        var text = Encoding.UTF8.GetString(stream);
        var events = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.True(events.Length > 3);
        Assert.Equal(events.Length, SignatureVerifier.VerifyStream(stream, Secret));
        Assert.All(events, e => Assert.Matches("\n: x-gateway-signature=[0-9a-f]{64}$", e));
        // A changed byte fails.
        var tampered = (byte[])stream.Clone();
        tampered[text.IndexOf("sign", StringComparison.Ordinal)] = (byte)'S';
        Assert.Throws<InvalidDataException>(() => SignatureVerifier.VerifyStream(tampered, Secret));
    }

    [Fact]
    public async Task The_openai_sdk_reads_signed_answers_and_streams_as_usual()
    {
        var chat = new ChatClient(TelemetryAppFixture.Model, new ApiKeyCredential(TestPolicy.GoodToken),
            new OpenAIClientOptions { Endpoint = new Uri(telemetry.RouterUrl, "/v1"), RetryPolicy = new ClientRetryPolicy(maxRetries: 0) });
        const string Question = "Signed SDK question";

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage(Question)], cancellationToken: Cancellation);
        var (signedText, signedUpdates) = await StreamAsync(chat, Question);
        // The same stream from the assembly's router, which does not sign: the SDK must see exactly the same updates.
        var (plainText, plainUpdates) = await StreamAsync(Chat(app, "mock/gpt-4o-mini"), Question);

        Assert.Equal(MockAnswer(Question), completion.Content[0].Text);
        Assert.Equal(MockAnswer(Question), signedText);
        Assert.Equal((plainText, plainUpdates), (signedText, signedUpdates));
    }

    private static async Task<(string Text, int Updates)> StreamAsync(ChatClient chat, string question)
    {
        var text = new StringBuilder();
        var updates = 0;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage(question)], new ChatCompletionOptions(), Cancellation))
        {
            updates++;
            text.Append(string.Concat(update.ContentUpdate.Select(part => part.Text)));
        }

        return (text.ToString(), updates);
    }

    [Fact]
    public async Task The_anthropic_sdk_reads_signed_answers_and_streams_as_usual()
    {
        var client = new AnthropicClient(new Anthropic.Core.ClientOptions
        {
            BaseUrl = telemetry.RouterUrl.GetLeftPart(UriPartial.Authority),
            ApiKey = TestPolicy.GoodToken,
            MaxRetries = 0,
            ResponseValidation = true,
            Timeout = TimeSpan.FromSeconds(30),
        });
        const string Question = "Signed Claude question";
        var ask = new MessageCreateParams { Model = "claude/sonnet", MaxTokens = 100, Messages = [new UserMessageParam { Content = Question }] };

        var message = await client.Messages.Create(ask, Cancellation);
        var types = new List<string>();
        var streamed = await Tap(client.Messages.CreateStreaming(ask, Cancellation), types).Aggregate();

        Assert.True(message.Content.Single().TryPickText(out var text));
        Assert.Equal(MockAnswer(Question), text.Text);
        Assert.True(streamed.Content.Single().TryPickText(out var streamedText));
        Assert.Equal(MockAnswer(Question), streamedText.Text);
        Assert.Equal("message_start", types[0]);
        Assert.Equal("message_stop", types[^1]);
    }

    private static async IAsyncEnumerable<RawMessageStreamEvent> Tap(IAsyncEnumerable<RawMessageStreamEvent> events, List<string> types)
    {
        await foreach (var e in events)
        {
            types.Add(e.Type.Raw());
            yield return e;
        }
    }
}
