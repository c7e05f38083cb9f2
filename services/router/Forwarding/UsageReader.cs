using System.Text.Json;

namespace Gateway.Aspire.Router.Forwarding;

/// <summary>
/// Finds the top-level <c>usage</c> object of a completion or of a stream chunk, and whether its
/// <c>choices</c> is empty (the usage-only chunk of <c>include_usage</c> streams).
/// </summary>
internal static class UsageReader
{
    /// <summary>True when <paramref name="json"/> holds a non-null <c>usage</c> object.</summary>
    public static bool TryRead(ReadOnlySpan<byte> json, out TokenUsage usage, out bool choicesEmpty)
    {
        usage = default;
        choicesEmpty = false;
        var found = false;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        usage = ReadUsage(ref reader);
                        found = true;
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartArray)
                    {
                        var probe = reader;
                        probe.Read();
                        choicesEmpty = probe.TokenType == JsonTokenType.EndArray;
                    }

                    reader.Skip();
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            // Not ours to judge: the bytes are relayed as they are; only billing loses this chunk.
            return false;
        }

        return found;
    }

    private static TokenUsage ReadUsage(ref Utf8JsonReader reader)
    {
        int prompt = 0, completion = 0, cached = 0, reasoning = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("prompt_tokens"u8))
            {
                reader.Read();
                prompt = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value) ? value : 0;
            }
            else if (reader.ValueTextEquals("completion_tokens"u8))
            {
                reader.Read();
                completion = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value) ? value : 0;
            }
            else if (reader.ValueTextEquals("prompt_tokens_details"u8))
            {
                cached = ReadDetail(ref reader, "cached_tokens"u8);
            }
            else if (reader.ValueTextEquals("completion_tokens_details"u8))
            {
                reasoning = ReadDetail(ref reader, "reasoning_tokens"u8);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return new TokenUsage(prompt, completion, cached) { ReasoningTokens = reasoning };
    }

    /// <summary>Reads one number out of a <c>*_tokens_details</c> object (the reader is on its property name).</summary>
    private static int ReadDetail(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
    {
        var result = 0;
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return 0;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isWanted = reader.ValueTextEquals(name);
            reader.Read();
            if (isWanted && reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value))
            {
                result = value;
            }
            else
            {
                reader.Skip();
            }
        }

        return result;
    }
}
