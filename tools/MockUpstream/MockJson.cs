using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gateway.Aspire.MockUpstream;

/// <summary>Source-generated JSON for the OpenAI wire format (snake_case, nulls omitted).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ChatRequest))]
[JsonSerializable(typeof(ChatCompletion))]
[JsonSerializable(typeof(ChatChunk))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ErrorEnvelope))]
internal sealed partial class MockJsonContext : JsonSerializerContext;

/// <summary>The parts of a chat request the mock reads.</summary>
public sealed record ChatRequest(string? Model, IReadOnlyList<ChatMessage>? Messages, bool? Stream, StreamOptions? StreamOptions);

/// <summary>A chat message; content is a string or an array of content parts.</summary>
public sealed record ChatMessage(string? Role, JsonElement Content);

/// <summary>OpenAI <c>stream_options</c>.</summary>
public sealed record StreamOptions(bool? IncludeUsage);

internal sealed record ChatCompletion(string Id, string Object, long Created, string Model, IReadOnlyList<Choice> Choices, Usage Usage);

internal sealed record Choice(int Index, Message Message, string FinishReason);

internal sealed record Message(string Role, string Content);

internal sealed record Usage(int PromptTokens, int CompletionTokens, int TotalTokens);

internal sealed record ChatChunk(string Id, string Object, long Created, string Model, IReadOnlyList<ChunkChoice> Choices, Usage? Usage);

internal sealed record ChunkChoice(
    int Index,
    Delta Delta,
    // OpenAI sends "finish_reason": null until the last chunk; some clients expect the key.
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

internal sealed record Delta(string? Role, string? Content);

internal sealed record ModelList(string Object, IReadOnlyList<ModelEntry> Data);

internal sealed record ModelEntry(string Id, string Object, long Created, string OwnedBy);

internal sealed record ErrorEnvelope(ErrorBody Error);

internal sealed record ErrorBody(
    string Message,
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Code,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Param);
