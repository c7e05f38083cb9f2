using System.Text.Json;

namespace Gateway.Aspire.Router.Forwarding;

/// <summary>Where <c>stream_options</c> stands in a request body.</summary>
internal enum StreamOptionsShape
{
    /// <summary>Absent.</summary>
    Absent,

    /// <summary><c>"stream_options": null</c>.</summary>
    Null,

    /// <summary>An object (possibly empty).</summary>
    Object,
}

/// <summary>Top-level request fields an API requires, seen with a usable value.</summary>
[Flags]
internal enum RequestFields
{
    None = 0,

    /// <summary><c>messages</c> is a non-empty array (chat, Anthropic messages).</summary>
    Messages = 1,

    /// <summary><c>prompt</c> is a string or a non-empty array (legacy completions).</summary>
    Prompt = 2,

    /// <summary><c>input</c> is a string or a non-empty array (embeddings).</summary>
    Input = 4,

    /// <summary><c>max_tokens</c> is a number (required by Anthropic's Messages API).</summary>
    MaxTokens = 8,
}

/// <summary>
/// What the router needs from a chat request body, with the byte offsets of the values it may
/// rewrite, so the body can be spliced instead of re-serialised.
/// </summary>
internal readonly record struct ChatRequestInfo
{
    public required string Model { get; init; }

    /// <summary>Offset of the <c>model</c> string token (its opening quote).</summary>
    public int ModelOffset { get; init; }

    /// <summary>Length of the raw <c>model</c> token, quotes and escapes included.</summary>
    public int ModelLength { get; init; }

    /// <summary>Offset of the top-level <c>{</c>.</summary>
    public int ObjectOffset { get; init; }

    public bool Stream { get; init; }

    /// <summary><c>stream_options.include_usage</c>; null when absent or null.</summary>
    public bool? IncludeUsage { get; init; }

    public StreamOptionsShape StreamOptions { get; init; }

    /// <summary><c>max_completion_tokens</c>, else <c>max_tokens</c>; null when absent (rate limits reserve it).</summary>
    public long? MaxTokens { get; init; }

    /// <summary><c>n</c>: completions asked for, each up to <see cref="MaxTokens"/> (budgets reserve them all); 1 when absent (0 in a default instance: also one).</summary>
    public int Choices { get; init; }

    /// <summary>Offset of the <c>stream_options</c> value (<c>null</c> or <c>{</c>).</summary>
    public int StreamOptionsOffset { get; init; }

    /// <summary>True when <c>stream_options</c> is <c>{}</c>.</summary>
    public bool StreamOptionsEmpty { get; init; }

    /// <summary>The top-level fields present with a usable value (for the per-API required-field check).</summary>
    public RequestFields Fields { get; init; }

    /// <summary>Offset of the <c>include_usage</c> value, or -1 when absent.</summary>
    public int IncludeUsageOffset { get; init; }

    /// <summary>Length of the raw <c>include_usage</c> value (4 or 5).</summary>
    public int IncludeUsageLength { get; init; }
}

/// <summary>
/// Reads the few fields of a chat request the router acts on in one forward pass of
/// <see cref="Utf8JsonReader"/>: no DOM, no allocation beyond the model name, and every other
/// value skipped (the body is forwarded byte for byte apart from the spliced fields).
/// </summary>
internal static class ChatRequestInspector
{
    /// <summary>The error for a body without a model (a task default may still supply one).</summary>
    public const string ModelRequiredError = "'model' is required, e.g. \"mock/gpt-4o-mini\".";

    /// <summary>More output than any model offers (the largest today give well under a million); a bigger value is a client bug, not a wish.</summary>
    internal const long MaxOutputTokens = 10_000_000;

    /// <summary>OpenAI's own upper bound for <c>n</c>.</summary>
    internal const int MaxChoices = 128;

    /// <summary>Inspects <paramref name="json"/>; on failure <paramref name="error"/> says what is wrong, for a 400.</summary>
    public static bool TryInspect(ReadOnlySpan<byte> json, out ChatRequestInfo info, out string error)
    {
        info = default;
        error = "";
        string? model = null;
        int modelOffset = 0, modelLength = 0, streamOptionsOffset = 0, includeUsageOffset = -1, includeUsageLength = 0;
        bool stream = false, streamOptionsEmpty = true;
        bool? includeUsage = null;
        long? maxTokens = null;
        var choices = 1;
        var streamOptions = StreamOptionsShape.Absent;
        var fields = RequestFields.None;

        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 128 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "The request body must be a JSON object.";
                return false;
            }

            var objectOffset = (int)reader.TokenStartIndex;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("model"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String || model is not null)
                    {
                        error = model is null ? "'model' must be a string." : "'model' is given twice.";
                        return false;
                    }

                    modelOffset = (int)reader.TokenStartIndex;
                    // ValueSpan holds the raw (still escaped) bytes between the quotes.
                    modelLength = reader.ValueSpan.Length + 2;
                    model = reader.GetString();
                }
                else if (reader.ValueTextEquals("stream"u8))
                {
                    reader.Read();
                    switch (reader.TokenType)
                    {
                        case JsonTokenType.True: stream = true; break;
                        case JsonTokenType.False or JsonTokenType.Null: stream = false; break;
                        default: error = "'stream' must be a boolean."; return false;
                    }
                }
                else if (reader.ValueTextEquals("max_tokens"u8) || reader.ValueTextEquals("max_completion_tokens"u8))
                {
                    // The newer name wins when both are sent, as with OpenAI.
                    var isNewName = reader.ValueTextEquals("max_completion_tokens"u8);
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.Null)
                    {
                        continue;
                    }

                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var value) || value < 0)
                    {
                        error = "'max_tokens' and 'max_completion_tokens' must be non-negative integers.";
                        return false;
                    }

                    if (value > MaxOutputTokens)
                    {
                        error = $"'max_tokens' of {value} is more than any model can produce (at most {MaxOutputTokens}).";
                        return false;
                    }

                    fields |= RequestFields.MaxTokens;

                    if (isNewName || maxTokens is null)
                    {
                        maxTokens = value;
                    }
                }
                else if (reader.ValueTextEquals("stream_options"u8))
                {
                    reader.Read();
                    streamOptionsOffset = (int)reader.TokenStartIndex;
                    if (reader.TokenType == JsonTokenType.Null)
                    {
                        streamOptions = StreamOptionsShape.Null;
                        continue;
                    }

                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        error = "'stream_options' must be an object.";
                        return false;
                    }

                    streamOptions = StreamOptionsShape.Object;
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        streamOptionsEmpty = false;
                        var isIncludeUsage = reader.ValueTextEquals("include_usage"u8);
                        reader.Read();
                        if (!isIncludeUsage)
                        {
                            reader.Skip();
                            continue;
                        }

                        includeUsageOffset = (int)reader.TokenStartIndex;
                        (includeUsage, includeUsageLength) = reader.TokenType switch
                        {
                            JsonTokenType.True => (true, 4),
                            JsonTokenType.False => (false, 5),
                            JsonTokenType.Null => ((bool?)null, 4),
                            _ => throw new FormatException("'stream_options.include_usage' must be a boolean."),
                        };
                    }
                }
                else if (reader.ValueTextEquals("messages"u8) || reader.ValueTextEquals("prompt"u8) || reader.ValueTextEquals("input"u8))
                {
                    var field = reader.ValueTextEquals("messages"u8) ? RequestFields.Messages : reader.ValueTextEquals("prompt"u8) ? RequestFields.Prompt : RequestFields.Input;
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartArray)
                    {
                        var probe = reader;
                        probe.Read();
                        if (probe.TokenType != JsonTokenType.EndArray)
                        {
                            fields |= field;
                        }
                    }
                    else if (reader.TokenType == JsonTokenType.String && field != RequestFields.Messages)
                    {
                        fields |= field;
                    }
                    else if (reader.TokenType != JsonTokenType.Null)
                    {
                        error = field == RequestFields.Messages ? "'messages' must be an array of message objects." : $"'{(field == RequestFields.Prompt ? "prompt" : "input")}' must be a string or an array.";
                        return false;
                    }

                    reader.Skip();
                }
                else if (reader.ValueTextEquals("temperature"u8) || reader.ValueTextEquals("top_p"u8))
                {
                    var name = reader.ValueTextEquals("temperature"u8) ? "temperature" : "top_p";
                    reader.Read();
                    if (reader.TokenType is not (JsonTokenType.Number or JsonTokenType.Null) || (reader.TokenType == JsonTokenType.Number && reader.GetDouble() < 0))
                    {
                        error = $"'{name}' must be a non-negative number.";
                        return false;
                    }
                }
                else if (reader.ValueTextEquals("n"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.Null && (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var n) || n is < 1 or > MaxChoices))
                    {
                        error = $"'n' must be an integer from 1 to {MaxChoices}.";
                        return false;
                    }

                    choices = reader.TokenType == JsonTokenType.Number ? reader.GetInt32() : 1;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            // Anything after the top-level object other than whitespace is invalid JSON; Read throws on it.
            while (reader.Read())
            {
            }

            if (string.IsNullOrEmpty(model))
            {
                error = ModelRequiredError;
                return false;
            }

            info = new ChatRequestInfo
            {
                Model = model,
                ModelOffset = modelOffset,
                ModelLength = modelLength,
                ObjectOffset = objectOffset,
                Stream = stream,
                IncludeUsage = includeUsage,
                StreamOptions = streamOptions,
                MaxTokens = maxTokens,
                Choices = choices,
                StreamOptionsOffset = streamOptionsOffset,
                StreamOptionsEmpty = streamOptionsEmpty,
                IncludeUsageOffset = includeUsageOffset,
                IncludeUsageLength = includeUsageLength,
                Fields = fields,
            };
            return true;
        }
        catch (JsonException e)
        {
            error = $"The request body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}).";
            return false;
        }
        catch (FormatException e)
        {
            error = e.Message;
            return false;
        }
    }
}
