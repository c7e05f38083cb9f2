using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Anthropic;
using Anthropic.Core;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Gateway.Aspire.Router.Messages;

namespace Gateway.Aspire.Router.Tests.Messages;

/// <summary>
/// The official Anthropic .NET SDK builds the requests and parses the answers, through a stub
/// handler that stands for the gateway's <c>/v1/messages</c> (no network): what the SDK sends must
/// translate, and what the translators produce must parse, validated, as Claude's own answers do.
/// </summary>
public sealed class AnthropicSdkCompatibilityTests
{
    private static readonly MessageCreateParams Parameters = new()
    {
        Model = "gpt-4o-mini",
        MaxTokens = 1024,
        System = "You are a weather assistant.",
        Messages = [new UserMessageParam { Content = "What is the weather in Paris?" }],
        Tools =
        [
            new Tool
            {
                Name = "get_weather",
                Description = "Current weather for a city",
                InputSchema = new()
                {
                    Properties = new Dictionary<string, JsonElement> { ["city"] = JsonDocument.Parse("""{"type":"string"}""").RootElement },
                    Required = ["city"],
                },
            },
        ],
        ToolChoice = new ToolChoiceAuto { DisableParallelToolUse = true },
    };

    private static AnthropicClient Client(StubGateway gateway) => new(new ClientOptions
    {
        ApiKey = "sk-gw-test",
        BaseUrl = "http://127.0.0.1:9",
        HttpClient = new HttpClient(gateway),
        MaxRetries = 0,
        ResponseValidation = true,
    });

    [Fact]
    public async Task Sdk_request_translates_and_sdk_parses_the_translated_answer()
    {
        const string completion = """
            {"id": "chatcmpl-C1x9", "object": "chat.completion", "created": 1741569952, "model": "gpt-4o-mini-2024-07-18",
             "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": "Let me check.",
               "tool_calls": [{"id": "call_Dn2RJJSxzDm49vlVTehseJ0k", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
             "usage": {"prompt_tokens": 2006, "completion_tokens": 18, "total_tokens": 2024, "prompt_tokens_details": {"cached_tokens": 1920}}}
            """;
        var gateway = new StubGateway(_ => Json(HttpStatusCode.OK, MessagesResponseTranslator.Translate(Encoding.UTF8.GetBytes(completion), "gpt-4o-mini")));

        var message = await Client(gateway).Messages.Create(Parameters, TestContext.Current.CancellationToken);

        var request = JsonDocument.Parse(gateway.TranslatedRequest!).RootElement;
        Assert.Equal("gpt-4o-mini", request.GetProperty("model").GetString());
        Assert.Equal("system", request.GetProperty("messages")[0].GetProperty("role").GetString());
        Assert.Equal("What is the weather in Paris?", request.GetProperty("messages")[1].GetProperty("content").GetString());
        Assert.Equal("get_weather", request.GetProperty("tools")[0].GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("auto", request.GetProperty("tool_choice").GetString());
        Assert.False(request.GetProperty("parallel_tool_calls").GetBoolean());

        Assert.Equal("msg_C1x9", message.ID);
        Assert.Equal(StopReason.ToolUse, message.StopReason!.Value());
        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("Let me check.", text.Text);
        Assert.True(message.Content[1].TryPickToolUse(out var toolUse));
        Assert.Equal("call_Dn2RJJSxzDm49vlVTehseJ0k", toolUse.ID);
        Assert.Equal("Paris", toolUse.Input["city"].GetString());
        Assert.Equal(86, message.Usage.InputTokens);
        Assert.Equal(1920, message.Usage.CacheReadInputTokens);
        Assert.Equal(18, message.Usage.OutputTokens);
    }

    [Fact]
    public async Task Sdk_aggregates_the_translated_stream_into_the_full_message()
    {
        var upstream = Encoding.UTF8.GetBytes(MessagesStreamTranslatorTests.Sse(MessagesStreamTranslatorTests.ToolChunks));
        var gateway = new StubGateway(_ => EventStream(MessagesStreamTranslatorTests.RunBytes(upstream, 5, new MessagesStreamTranslator("gpt-4o-mini"))));

        var message = await Client(gateway).Messages.CreateStreaming(Parameters, TestContext.Current.CancellationToken).Aggregate();

        Assert.True(JsonDocument.Parse(gateway.TranslatedRequest!).RootElement.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal("msg_AzBy7", message.ID);
        Assert.Equal(3, message.Content.Count);
        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("Let me check.", text.Text);
        Assert.True(message.Content[1].TryPickToolUse(out var weather));
        Assert.Equal("get_weather", weather.Name);
        Assert.Equal("Paris", weather.Input["city"].GetString());
        Assert.True(message.Content[2].TryPickToolUse(out var time));
        Assert.Equal("Europe/Paris", time.Input["tz"].GetString());
        Assert.Equal(StopReason.ToolUse, message.StopReason!.Value());
        Assert.Equal(82, message.Usage.InputTokens);
        Assert.Equal(41, message.Usage.OutputTokens);
    }

    [Fact]
    public async Task Sdk_raises_its_typed_exception_for_an_in_stream_error()
    {
        var events = MessagesStreamTranslatorTests.RunBytes(
            Encoding.UTF8.GetBytes(MessagesStreamTranslatorTests.Sse([MessagesStreamTranslatorTests.TextChunks[1], """{"error":{"message":"Upstream overloaded","type":"server_error"}}"""])),
            64,
            new MessagesStreamTranslator("gpt-4o-mini"));
        var gateway = new StubGateway(_ => EventStream(events));

        var error = await Assert.ThrowsAsync<AnthropicSseException>(() => Client(gateway).Messages.CreateStreaming(Parameters, TestContext.Current.CancellationToken).Aggregate());

        Assert.Equal("api_error", error.Type?.Raw());
    }

    [Theory]
    [InlineData(400, typeof(AnthropicBadRequestException), "invalid_request_error")]
    [InlineData(401, typeof(AnthropicUnauthorizedException), "authentication_error")]
    [InlineData(404, typeof(AnthropicNotFoundException), "not_found_error")]
    [InlineData(429, typeof(AnthropicRateLimitException), "rate_limit_error")]
    [InlineData(504, typeof(AnthropicGatewayTimeoutException), "timeout_error")]
    [InlineData(529, typeof(AnthropicOverloadedException), "overloaded_error")]
    public async Task Sdk_raises_its_typed_exception_for_each_error_body(int status, System.Type exceptionType, string errorType)
    {
        var gateway = new StubGateway(_ => Json((HttpStatusCode)status, AnthropicErrorBody.Serialize(status, "Something precise went wrong.")));

        var error = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => Client(gateway).Messages.Create(Parameters, TestContext.Current.CancellationToken));

        Assert.IsType(exceptionType, error);
        Assert.Equal(errorType, error.Type?.Raw());
        Assert.Equal("Something precise went wrong.", error.ApiMessage);
    }

    private static HttpResponseMessage Json(HttpStatusCode status, byte[] body) => new(status)
    {
        Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
    };

    private static HttpResponseMessage EventStream(string events) => new(HttpStatusCode.OK)
    {
        Content = new StringContent(events, Encoding.UTF8, "text/event-stream"),
    };

    /// <summary>Stands for the gateway: translates what the SDK sends (so it must be valid) and answers from a script.</summary>
    private sealed class StubGateway(Func<byte[], HttpResponseMessage> answer) : HttpMessageHandler
    {
        public byte[]? TranslatedRequest { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Assert.Equal("/v1/messages", request.RequestUri!.AbsolutePath);
            var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
            TranslatedRequest = MessagesRequestTranslator.Translate(body);
            return answer(body);
        }
    }
}
