using System.Text.Json;
using Gateway.Aspire.Router.Forwarding;

namespace Gateway.Aspire.Router.Providers.Gemini;

/// <summary>
/// Converts Gemini's <c>usageMetadata</c> (GenerateContentResponse.UsageMetadata) into the
/// gateway's <see cref="TokenUsage"/> and writes it as OpenAI's <c>usage</c> object.
/// </summary>
/// <remarks>
/// Gemini counts the prompt with its cached part included (<c>promptTokenCount</c> "includes the
/// number of tokens in the cached content") and reports reasoning apart from the answer
/// (<c>thoughtsTokenCount</c> next to <c>candidatesTokenCount</c>); OpenAI's completion count
/// includes reasoning, so the two are added. <c>toolUsePromptTokenCount</c> (prompts Gemini builds
/// for its own tools such as search) is billed as input, so it joins the prompt count; it is zero
/// for the function-calling requests the gateway sends.
/// </remarks>
internal static class GeminiUsage
{
    /// <summary>The usage of a GenerateContentResponse, or null when it carries no <c>usageMetadata</c>.</summary>
    /// <exception cref="InvalidDataException">The counts are not integers.</exception>
    public static TokenUsage? Read(JsonElement response)
    {
        if (!response.TryGetProperty("usageMetadata"u8, out var metadata) || metadata.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (metadata.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException("Gemini's usageMetadata is not an object.");
        }

        var thoughts = Count(metadata, "thoughtsTokenCount"u8);
        return new TokenUsage(
            Count(metadata, "promptTokenCount"u8) + Count(metadata, "toolUsePromptTokenCount"u8),
            Count(metadata, "candidatesTokenCount"u8) + thoughts,
            Count(metadata, "cachedContentTokenCount"u8))
        {
            ReasoningTokens = thoughts,
        };
    }

    /// <summary>Writes <c>"usage": {...}</c> in OpenAI's shape, details included.</summary>
    public static void Write(Utf8JsonWriter json, TokenUsage usage)
    {
        json.WriteStartObject("usage"u8);
        json.WriteNumber("prompt_tokens"u8, usage.PromptTokens);
        json.WriteNumber("completion_tokens"u8, usage.CompletionTokens);
        json.WriteNumber("total_tokens"u8, usage.PromptTokens + usage.CompletionTokens);
        json.WriteStartObject("prompt_tokens_details"u8);
        json.WriteNumber("cached_tokens"u8, usage.CachedTokens);
        json.WriteEndObject();
        json.WriteStartObject("completion_tokens_details"u8);
        json.WriteNumber("reasoning_tokens"u8, usage.ReasoningTokens);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    // proto3 JSON leaves zero counts out, so a missing count is zero.
    private static int Count(JsonElement metadata, ReadOnlySpan<byte> name) =>
        !metadata.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? 0
        : value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var count) && count >= 0 ? count
        : throw new InvalidDataException($"Gemini's usageMetadata.{System.Text.Encoding.UTF8.GetString(name)} is not a token count.");
}
