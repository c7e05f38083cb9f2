using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Tests.TestHosts;
using OpenAI.Chat;
using static Gateway.Aspire.Router.Tests.Providers.EndToEnd.GatewayClients;

namespace Gateway.Aspire.Router.Tests.Providers.EndToEnd;

/// <summary>
/// The official OpenAI .NET SDK against the running router, answered by models of other providers
/// (Anthropic, Gemini, Azure OpenAI, all played by the mock in their own wire formats): the
/// OpenAI-format answers, streams and tool calls must be what the SDK expects, with the
/// provider's usage translated to OpenAI's semantics.
/// </summary>
public sealed class OpenAiSdkProviderTests(RouterAppFixture app)
{
    private const string Question = "What is the capital of France?";

    /// <summary>Per gateway model: the upstream's model name its answers carry, and its account's provider.</summary>
    private static readonly Dictionary<string, (string UpstreamModel, string Provider)> s_served = new()
    {
        ["claude/sonnet"] = ("claude-sonnet-4-5", "anthropic"),
        ["gemini/flash"] = ("gemini-2.5-flash", "gemini"),
        ["azure/gpt-4o-mini"] = ("my-deployment", "azure-openai"),
    };

    public static TheoryData<string> Models => [.. s_served.Keys];

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Chat_gets_the_text_finish_reason_and_usage(string model)
    {
        ClientResult<ChatCompletion> result = await Chat(app, model).CompleteChatAsync([new UserChatMessage(Question)], cancellationToken: Cancellation);
        var completion = result.Value;

        Assert.Equal(MockAnswer(Question), Assert.Single(completion.Content).Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal(s_served[model].UpstreamModel, completion.Model);
        Assert.False(string.IsNullOrEmpty(completion.Id));
        Assert.Equal(MockPromptTokens(Question), completion.Usage.InputTokenCount);
        Assert.Equal(Words(MockAnswer(Question)), completion.Usage.OutputTokenCount);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
        Assert.Equal(0, completion.Usage.InputTokenDetails?.CachedTokenCount ?? 0);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Output_limit_cuts_the_answer_with_finish_reason_length(string model)
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 3 };

        ChatCompletion completion = await Chat(app, model).CompleteChatAsync([new UserChatMessage(Question)], options, Cancellation);

        Assert.Equal("Mock answer to:", Assert.Single(completion.Content).Text);
        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(3, completion.Usage.OutputTokenCount);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Streaming_concatenates_the_text_and_ends_with_one_usage_update(string model)
    {
        const string question = "Tell me about streaming.";
        var text = new StringBuilder();
        var updates = new List<StreamingChatCompletionUpdate>();
        ChatFinishReason? finish = null;

        // The SDK always asks for stream_options.include_usage: the usage chunk must come, once, last.
        await foreach (var update in Chat(app, model).CompleteChatStreamingAsync([new UserChatMessage(question)], cancellationToken: Cancellation))
        {
            updates.Add(update);
            text.Append(string.Concat(update.ContentUpdate.Select(part => part.Text)));
            finish ??= update.FinishReason;
        }

        Assert.Equal(MockAnswer(question), text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.True(updates.Count(u => u.ContentUpdate.Count > 0) >= Words(MockAnswer(question)), "the answer arrives in pieces, not as one chunk");
        var usage = Assert.Single(updates, u => u.Usage is not null).Usage;
        Assert.Same(usage, updates[^1].Usage);
        Assert.Equal(MockPromptTokens(question), usage.InputTokenCount);
        Assert.Equal(Words(MockAnswer(question)), usage.OutputTokenCount);
        Assert.Equal(usage.InputTokenCount + usage.OutputTokenCount, usage.TotalTokenCount);
        Assert.Contains(updates, u => u.Model == s_served[model].UpstreamModel);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Stream_without_include_usage_has_no_usage_chunk(string model)
    {
        const string question = "Count the stars.";
        var body = $$"""{"model":"{{model}}","stream":true,"messages":[{"role":"user","content":"{{question}}"}]}""";

        var (response, events) = await StreamAsync(app, "/v1/chat/completions", body);
        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        }

        Assert.Equal("[DONE]", events[^1].Data);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e.Data).RootElement).ToList();
        // Azure opens its streams with a choice-less chunk of prompt filter results, relayed as Azure sends it.
        Assert.All(chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0), chunk => Assert.Equal("chat.completion.chunk", chunk.GetProperty("object").GetString()));
        Assert.All(chunks, chunk => Assert.True(!chunk.TryGetProperty("usage", out var usage) || usage.ValueKind == JsonValueKind.Null, chunk.GetRawText()));
        var choices = chunks.SelectMany(chunk => chunk.GetProperty("choices").EnumerateArray()).ToList();
        var text = string.Concat(choices.Select(c => c.GetProperty("delta").TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String ? content.GetString() : ""));
        Assert.Equal(MockAnswer(question), text);
        Assert.Equal("stop", choices.Last(c => c.TryGetProperty("finish_reason", out var f) && f.ValueKind == JsonValueKind.String).GetProperty("finish_reason").GetString());
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Tool_call_round_trip(string model)
    {
        const string question = "What is the weather in Paris?";
        var client = Chat(app, model);
        var options = new ChatCompletionOptions { Tools = { WeatherTool } };
        List<ChatMessage> messages = [new SystemChatMessage("You are a weather assistant."), new UserChatMessage(question)];

        ChatCompletion call = await client.CompleteChatAsync(messages, options, Cancellation);

        Assert.Equal(ChatFinishReason.ToolCalls, call.FinishReason);
        var toolCall = Assert.Single(call.ToolCalls);
        Assert.Equal("get_weather", toolCall.FunctionName);
        Assert.Equal(ChatToolCallKind.Function, toolCall.Kind);
        Assert.False(string.IsNullOrEmpty(toolCall.Id));
        // The mock fills the schema's first argument with the question it was asked.
        Assert.Equal(question, JsonDocument.Parse(toolCall.FunctionArguments.ToString()).RootElement.GetProperty("city").GetString());
        Assert.True(call.Usage.OutputTokenCount > 0);

        messages.Add(new AssistantChatMessage(call));
        messages.Add(new ToolChatMessage(toolCall.Id, "18 degrees and sunny"));
        ChatCompletion answer = await client.CompleteChatAsync(messages, options, Cancellation);

        Assert.Equal(ChatFinishReason.Stop, answer.FinishReason);
        Assert.Empty(answer.ToolCalls);
        var text = Assert.Single(answer.Content).Text;
        Assert.StartsWith("Mock answer to tool result: ", text, StringComparison.Ordinal);
        Assert.Contains("18 degrees and sunny", text, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Streamed_tool_call_arrives_as_name_then_argument_fragments(string model)
    {
        const string question = "Is there weather in Oslo?";
        var options = new ChatCompletionOptions { Tools = { WeatherTool } };
        var arguments = new StringBuilder();
        var names = new List<string>();
        var ids = new List<string>();
        ChatFinishReason? finish = null;

        await foreach (var update in Chat(app, model).CompleteChatStreamingAsync([new UserChatMessage(question)], options, Cancellation))
        {
            foreach (var part in update.ToolCallUpdates)
            {
                Assert.Equal(0, part.Index);
                if (part.FunctionName is { Length: > 0 } name)
                {
                    names.Add(name);
                }

                if (part.ToolCallId is { Length: > 0 } id)
                {
                    ids.Add(id);
                }

                arguments.Append(part.FunctionArgumentsUpdate?.ToString());
            }

            finish ??= update.FinishReason;
        }

        Assert.Equal(["get_weather"], names);
        Assert.Single(ids);
        Assert.Equal(question, JsonDocument.Parse(arguments.ToString()).RootElement.GetProperty("city").GetString());
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Answer_names_the_model_and_provider_that_served_it(string model)
    {
        var requestId = NewRequestId("headers");
        var body = $$"""{"model":"{{model}}","messages":[{"role":"user","content":"{{Question}}"}]}""";

        var (response, json) = await PostAsync(app, "/v1/chat/completions", body, requestId);
        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(model, response.Headers.GetValues("x-gateway-model").Single());
            Assert.Equal(s_served[model].Provider, response.Headers.GetValues("x-gateway-provider").Single());
            Assert.Equal(requestId, response.Headers.GetValues("x-request-id").Single());
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        }

        Assert.Equal("chat.completion", json.GetProperty("object").GetString());
        Assert.Equal(MockAnswer(Question), json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }
}
