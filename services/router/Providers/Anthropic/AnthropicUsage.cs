using System.Text.Json;
using Gateway.Aspire.Router.Forwarding;

namespace Gateway.Aspire.Router.Providers.Anthropic;

/// <summary>Reads Anthropic's usage into the gateway's shape, and writes it in OpenAI's.</summary>
internal static class AnthropicUsage
{
    /// <summary>
    /// Reads the usage of a Messages API response body, or of one stream event's data
    /// (<c>message_start</c> or <c>message_delta</c>). For a lone <c>message_delta</c> the result
    /// holds only the counts that event carries (often just the output); follow a whole stream with
    /// <see cref="AnthropicPassThroughStream"/> instead.
    /// </summary>
    /// <returns>False when the bytes are not JSON or hold no usage object.</returns>
    public static bool TryRead(ReadOnlySpan<byte> anthropicMessageOrEventData, out TokenUsage usage)
    {
        using var document = AnthropicJson.TryParse(anthropicMessageOrEventData);
        var counts = new AnthropicUsageAccumulator();
        if (document is not null)
        {
            counts.Observe(document.RootElement);
        }

        usage = counts.Usage ?? default;
        return counts.Usage is not null;
    }

    /// <summary>Writes OpenAI's <c>usage</c> member (the prompt count includes cached and cache-written tokens).</summary>
    public static void WriteOpenAi(Utf8JsonWriter json, TokenUsage usage)
    {
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", usage.PromptTokens);
        json.WriteNumber("completion_tokens", usage.CompletionTokens);
        json.WriteNumber("total_tokens", usage.PromptTokens + usage.CompletionTokens);
        json.WriteStartObject("prompt_tokens_details");
        json.WriteNumber("cached_tokens", usage.CachedTokens);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
