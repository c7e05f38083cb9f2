using System.Net;
using System.Text.Json;
using Anthropic;
using Anthropic.Models.Messages;
using Gateway.Aspire.Router.Tests.TestHosts;
using static Gateway.Aspire.Router.Tests.Providers.EndToEnd.GatewayClients;

namespace Gateway.Aspire.Router.Tests.Providers.EndToEnd;

/// <summary>
/// The official Anthropic .NET SDK against the running router's <c>/v1/messages</c>, answered by an
/// OpenAI-compatible model, a Gemini model (both translated) and a Claude model (relayed as it is):
/// the SDK must parse and validate every answer, stream and tool use as it does Claude's own.
/// </summary>
public sealed class AnthropicSdkMessagesTests(RouterAppFixture app)
{
    private const string System = "You are terse.";
    private const string Question = "What is the capital of France?";

    /// <summary>Per gateway model: the model name the SDK sees in answers, and its account's provider.</summary>
    /// <remarks>Translated answers name the model the client asked for; Claude's relayed answers the upstream's.</remarks>
    private static readonly Dictionary<string, (string AnswerModel, string Provider)> s_served = new()
    {
        ["mock/gpt-4o-mini"] = ("mock/gpt-4o-mini", "openai-compatible"),
        ["gemini/flash"] = ("gemini/flash", "gemini"),
        ["claude/sonnet"] = ("claude-sonnet-4-5", "anthropic"),
    };

    public static TheoryData<string> Models => [.. s_served.Keys];

    private static Tool WeatherTool => new()
    {
        Name = "get_weather",
        Description = "Current weather for a city",
        InputSchema = new()
        {
            Properties = new Dictionary<string, JsonElement> { ["city"] = JsonDocument.Parse("""{"type":"string"}""").RootElement },
            Required = ["city"],
        },
    };

    private static MessageCreateParams Ask(string model, string question, long maxTokens = 1024) => new()
    {
        Model = model,
        MaxTokens = maxTokens,
        System = System,
        Messages = [new UserMessageParam { Content = question }],
    };

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Message_has_the_text_stop_reason_and_usage(string model)
    {
        var message = await AnthropicSdk(app).Messages.Create(Ask(model, Question), Cancellation);

        Assert.StartsWith("msg_", message.ID, StringComparison.Ordinal);
        Assert.Equal(s_served[model].AnswerModel, message.Model.Raw());
        var block = Assert.Single(message.Content);
        Assert.True(block.TryPickText(out var text));
        Assert.Equal(MockAnswer(Question), text.Text);
        Assert.Equal(StopReason.EndTurn, message.StopReason!.Value());
        Assert.Equal(MockPromptTokens(System, Question), message.Usage.InputTokens);
        Assert.Equal(Words(MockAnswer(Question)), message.Usage.OutputTokens);
        Assert.Equal(0, message.Usage.CacheReadInputTokens ?? 0);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Output_limit_stops_with_max_tokens(string model)
    {
        var message = await AnthropicSdk(app).Messages.Create(Ask(model, Question, maxTokens: 3), Cancellation);

        Assert.True(Assert.Single(message.Content).TryPickText(out var text));
        Assert.Equal("Mock answer to:", text.Text);
        Assert.Equal(StopReason.MaxTokens, message.StopReason!.Value());
        Assert.Equal(3, message.Usage.OutputTokens);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Stream_follows_anthropics_event_sequence_and_aggregates_to_the_message(string model)
    {
        const string question = "Tell me about streaming.";
        var types = new List<string>();

        var message = await Tap(AnthropicSdk(app).Messages.CreateStreaming(Ask(model, question), Cancellation), types).Aggregate();

        Assert.Equal("message_start", types[0]);
        Assert.Equal("content_block_start", types[1]);
        Assert.Equal(["content_block_stop", "message_delta", "message_stop"], types[^3..]);
        Assert.Equal(Words(MockAnswer(question)), types.Count(t => t == "content_block_delta"));
        Assert.StartsWith("msg_", message.ID, StringComparison.Ordinal);
        Assert.True(Assert.Single(message.Content).TryPickText(out var text));
        Assert.Equal(MockAnswer(question), text.Text);
        Assert.Equal(StopReason.EndTurn, message.StopReason!.Value());
        Assert.Equal(MockPromptTokens(System, question), message.Usage.InputTokens);
        Assert.Equal(Words(MockAnswer(question)), message.Usage.OutputTokens);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Tool_use_round_trip(string model)
    {
        const string question = "What is the weather in Paris?";
        var client = AnthropicSdk(app);
        var ask = Ask(model, question) with { Tools = [WeatherTool] };

        var call = await client.Messages.Create(ask, Cancellation);

        Assert.Equal(StopReason.ToolUse, call.StopReason!.Value());
        Assert.True(call.Content.Single(b => b.Type.Raw() == "tool_use").TryPickToolUse(out var toolUse));
        Assert.Equal("get_weather", toolUse.Name);
        Assert.False(string.IsNullOrEmpty(toolUse.ID));
        Assert.Equal(question, toolUse.Input["city"].GetString());

        var answer = await client.Messages.Create(
            ask with
            {
                Messages =
                [
                    new UserMessageParam { Content = question },
                    new AssistantMessageParam { Content = new List<ContentBlockParam> { new ToolUseBlockParam { ID = toolUse.ID, Name = toolUse.Name, Input = toolUse.Input } } },
                    new UserMessageParam { Content = new List<ContentBlockParam> { new ToolResultBlockParam(toolUse.ID) { Content = "18 degrees and sunny" } } },
                ],
            },
            Cancellation);

        Assert.Equal(StopReason.EndTurn, answer.StopReason!.Value());
        Assert.True(Assert.Single(answer.Content).TryPickText(out var text));
        Assert.StartsWith("Mock answer to tool result: ", text.Text, StringComparison.Ordinal);
        Assert.Contains("18 degrees and sunny", text.Text, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Streamed_tool_use_aggregates_to_its_input(string model)
    {
        const string question = "Is there weather in Oslo?";
        var types = new List<string>();

        var client = AnthropicSdk(app);

        var message = await Tap(client.Messages.CreateStreaming(Ask(model, question) with { Tools = [WeatherTool] }, Cancellation), types).Aggregate();

        Assert.Equal(StopReason.ToolUse, message.StopReason!.Value());
        Assert.True(message.Content.Single(b => b.Type.Raw() == "tool_use").TryPickToolUse(out var toolUse));
        Assert.Equal("get_weather", toolUse.Name);
        Assert.Equal(question, toolUse.Input["city"].GetString());
        Assert.Equal("message_stop", types[^1]);
        Assert.True(message.Usage.OutputTokens > 0);
    }

    [Fact]
    public async Task Bearer_key_is_accepted_like_x_api_key()
    {
        var message = await AnthropicSdk(app, bearer: true).Messages.Create(Ask("mock/gpt-4o-mini", Question), Cancellation);

        Assert.True(Assert.Single(message.Content).TryPickText(out var text));
        Assert.Equal(MockAnswer(Question), text.Text);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Answer_names_the_model_and_provider_that_served_it(string model)
    {
        var requestId = NewRequestId("messages");
        var body = $$"""{"model":"{{model}}","max_tokens":256,"messages":[{"role":"user","content":"{{Question}}"}]}""";

        var (response, json) = await PostAsync(app, "/v1/messages", body, requestId, headers =>
        {
            headers.Authorization = null;
            headers.Add("x-api-key", TestPolicy.GoodToken);
            headers.Add("anthropic-version", "2023-06-01");
        });
        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(model, response.Headers.GetValues("x-gateway-model").Single());
            Assert.Equal(s_served[model].Provider, response.Headers.GetValues("x-gateway-provider").Single());
            Assert.Equal(requestId, response.Headers.GetValues("x-request-id").Single());
        }

        Assert.Equal("message", json.GetProperty("type").GetString());
        Assert.Equal("assistant", json.GetProperty("role").GetString());
        Assert.Equal(MockAnswer(Question), json.GetProperty("content")[0].GetProperty("text").GetString());
    }

    /// <summary>Passes the SDK's events on while noting their types, to check the sequence the SDK aggregated.</summary>
    private static async IAsyncEnumerable<RawMessageStreamEvent> Tap(IAsyncEnumerable<RawMessageStreamEvent> events, List<string> types)
    {
        await foreach (var e in events)
        {
            types.Add(e.Type.Raw());
            yield return e;
        }
    }
}
