using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Gateway.Aspire.Guardrails.Bodies;

/// <summary>Who wrote a text of a body: guardrails treat the application's own system prompt differently from what users send.</summary>
internal enum TextRole
{
    /// <summary>A system or developer message (the application's instructions).</summary>
    System,

    /// <summary>A user message, a completions prompt or an embeddings input.</summary>
    User,

    /// <summary>An assistant message: earlier turns in a request, the answer in a response.</summary>
    Assistant,

    /// <summary>A tool result (where indirect prompt injection arrives).</summary>
    Tool,
}

/// <summary>Which side of a call a body is.</summary>
internal enum BodyDirection
{
    /// <summary>What the client sent.</summary>
    Request,

    /// <summary>What the provider answered (a complete, non-streamed body).</summary>
    Response,
}

/// <summary>One text of a body: a JSON string value, where it is, and its (possibly rewritten) value.</summary>
internal sealed class BodyText(int start, int end, string value, int message)
{
    /// <summary>Offset of the opening quote in the body.</summary>
    public int Start { get; } = start;

    /// <summary>Offset just past the closing quote.</summary>
    public int End { get; } = end;

    /// <summary>The message (request) or choice (response) it belongs to; -1 for none (a prompt, a system field).</summary>
    public int Message { get; } = message;

    /// <summary>Who wrote it.</summary>
    public TextRole Role { get; set; } = TextRole.User;

    /// <summary>The text; setting a different value marks it for rewriting.</summary>
    public string Value
    {
        get => _value;
        set
        {
            Changed |= !string.Equals(value, _value, StringComparison.Ordinal);
            _value = value;
        }
    }

    /// <summary>Whether <see cref="Value"/> differs from the body.</summary>
    public bool Changed { get; private set; }

    private string _value = value;
}

/// <summary>
/// Every human-readable text of an OpenAI (chat completions, completions, embeddings) or Anthropic
/// (<c>/v1/messages</c>) body, request or response: message contents, content-part and content-block
/// texts, tool results, system prompts, prompts, inputs, answer choices. <see cref="Write"/> splices
/// rewritten texts back in, leaving every other byte of the body as it was.
/// </summary>
/// <remarks>
/// One forward pass of <see cref="Utf8JsonReader"/> with a stack of (property, index) frames, so the
/// cost is linear in the body and nothing is deserialised into objects; texts are recognised by their
/// path (<c>messages[i].content[j].text</c>), which is the same in both providers' formats where they
/// overlap. Roles may follow content in a message object, so they are attached after the pass.
/// </remarks>
internal sealed class BodyTexts
{
    private static readonly JavaScriptEncoder s_encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    private readonly ReadOnlyMemory<byte> _body;

    private BodyTexts(ReadOnlyMemory<byte> body, List<BodyText> texts)
    {
        _body = body;
        Texts = texts;
    }

    /// <summary>The texts in body order.</summary>
    public IReadOnlyList<BodyText> Texts { get; }

    /// <summary>Whether any text was rewritten.</summary>
    public bool Changed => Texts.Any(text => text.Changed);

    /// <summary>
    /// Reads the texts of <paramref name="body"/> sent to or answered by <paramref name="api"/>; an API
    /// whose body carries no checkable text (images, audio, unknown) yields none. Throws
    /// <see cref="JsonException"/> when the body is not JSON.
    /// </summary>
    public static BodyTexts Read(ReadOnlyMemory<byte> body, string api, BodyDirection direction)
    {
        var texts = new List<BodyText>();
        var roles = new Dictionary<int, string>();
        var kind = KindOf(api);
        var reader = new Utf8JsonReader(body.Span, new JsonReaderOptions { MaxDepth = 256 });
        var frames = new List<Frame>();
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                    frames[^1].Name = reader.GetString();
                    continue;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    frames.RemoveAt(frames.Count - 1);
                    continue;
            }

            if (frames.Count > 0 && frames[^1].IsArray)
            {
                frames[^1].Index++;
            }

            if (reader.TokenType == JsonTokenType.String && kind != ApiKind.Other)
            {
                var start = (int)reader.TokenStartIndex;
                var end = (int)reader.BytesConsumed;
                if (direction == BodyDirection.Request && IsRole(frames))
                {
                    roles[frames[1].Index] = reader.GetString()!;
                }
                else if (Classify(frames, kind, direction) is { } found)
                {
                    texts.Add(new BodyText(start, end, reader.GetString()!, found.Message) { Role = found.Role });
                }
            }
            else if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                frames.Add(new Frame { IsArray = reader.TokenType == JsonTokenType.StartArray });
            }
        }

        foreach (var text in texts)
        {
            if (text.Message >= 0 && direction == BodyDirection.Request && roles.TryGetValue(text.Message, out var role))
            {
                text.Role = role switch
                {
                    "system" or "developer" => TextRole.System,
                    "assistant" or "model" => TextRole.Assistant,
                    "tool" or "function" => TextRole.Tool,
                    _ => text.Role,
                };
            }
        }

        return new BodyTexts(body, texts);
    }

    /// <summary>The body with every changed text replaced (JSON-escaped), all other bytes unchanged.</summary>
    public byte[] Write()
    {
        var output = new ArrayBufferWriter<byte>(_body.Length + 256);
        var position = 0;
        foreach (var text in Texts.Where(text => text.Changed))
        {
            output.Write(_body.Span[position..text.Start]);
            output.Write("\""u8);
            output.Write(JsonEncodedText.Encode(text.Value, s_encoder).EncodedUtf8Bytes);
            output.Write("\""u8);
            position = text.End;
        }

        output.Write(_body.Span[position..]);
        return output.WrittenSpan.ToArray();
    }

    private enum ApiKind
    {
        Chat,
        Completions,
        Embeddings,
        Messages,
        Other,
    }

    private static ApiKind KindOf(string api) => api switch
    {
        "/v1/chat/completions" => ApiKind.Chat,
        "/v1/completions" => ApiKind.Completions,
        "/v1/embeddings" => ApiKind.Embeddings,
        "/v1/messages" => ApiKind.Messages,
        _ => ApiKind.Other,
    };

    /// <summary>Whether the string at <paramref name="frames"/> is <c>messages[i].role</c>.</summary>
    private static bool IsRole(List<Frame> frames) =>
        frames.Count == 3 && !frames[0].IsArray && frames[0].Name == "messages" && frames[1].IsArray && !frames[2].IsArray && frames[2].Name == "role";

    /// <summary>The role and message of a text at the path <paramref name="frames"/> describes, or null when the string there is not a text.</summary>
    private static (TextRole Role, int Message)? Classify(List<Frame> frames, ApiKind kind, BodyDirection direction)
    {
        // frames[k] holds the key (object) or index (array) under which the value at depth k+1 sits.
        bool At(int depth, string name) => frames.Count > depth && !frames[depth].IsArray && frames[depth].Name == name;
        bool Array(int depth) => frames.Count > depth && frames[depth].IsArray;

        if (direction == BodyDirection.Request)
        {
            switch (kind)
            {
                case ApiKind.Chat or ApiKind.Messages when At(0, "messages") && Array(1):
                    // messages[i].content | .content[j].text | .content[j].content | .content[j].content[k].text
                    var message = frames[1].Index;
                    var isText = frames.Count switch
                    {
                        3 => At(2, "content"),
                        5 => At(2, "content") && Array(3) && At(4, "text") || At(2, "content") && Array(3) && At(4, "content"),
                        7 => At(2, "content") && Array(3) && At(4, "content") && Array(5) && At(6, "text"),
                        _ => false,
                    };
                    return isText ? (TextRole.User, message) : null;
                case ApiKind.Messages when At(0, "system") && (frames.Count == 1 || (frames.Count == 3 && Array(1) && At(2, "text"))):
                    return (TextRole.System, -1);
                case ApiKind.Completions when At(0, "prompt") && (frames.Count == 1 || (frames.Count == 2 && Array(1))):
                case ApiKind.Embeddings when At(0, "input") && (frames.Count == 1 || (frames.Count == 2 && Array(1))):
                    return (TextRole.User, -1);
                default:
                    return null;
            }
        }

        return kind switch
        {
            // choices[i].message.content | choices[i].message.content[j].text | choices[i].text
            ApiKind.Chat when At(0, "choices") && Array(1) && At(2, "message")
                && ((frames.Count == 4 && At(3, "content")) || (frames.Count == 6 && At(3, "content") && Array(4) && At(5, "text")))
                => (TextRole.Assistant, frames[1].Index),
            ApiKind.Completions when frames.Count == 3 && At(0, "choices") && Array(1) && At(2, "text") => (TextRole.Assistant, frames[1].Index),
            // content[j].text
            ApiKind.Messages when frames.Count == 3 && At(0, "content") && Array(1) && At(2, "text") => (TextRole.Assistant, 0),
            _ => null,
        };
    }

    /// <summary>One open object or array: the property being read (object) or the index of the current item (array).</summary>
    private sealed class Frame
    {
        public bool IsArray { get; init; }

        public string? Name { get; set; }

        public int Index { get; set; } = -1;
    }
}
