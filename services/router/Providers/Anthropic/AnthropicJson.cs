using System.Text.Json;

namespace Gateway.Aspire.Router.Providers.Anthropic;

/// <summary>
/// The small JSON reading steps every Anthropic translation repeats: parsing a span without
/// copying it into a string first, and reading optional members without exceptions.
/// </summary>
internal static class AnthropicJson
{
    /// <summary>Parses one JSON value, or returns null when <paramref name="utf8"/> is not JSON.</summary>
    public static JsonDocument? TryParse(ReadOnlySpan<byte> utf8)
    {
        try
        {
            // ParseValue takes a reader over the span, so the caller's buffer needs no copy into a Memory.
            var reader = new Utf8JsonReader(utf8);
            return JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Parses a body or event the upstream sent. Malformed upstream JSON is not the client's fault,
    /// so it is an <see cref="InvalidDataException"/> (the router answers 502), never a
    /// <see cref="TranslationException"/> (400).
    /// </summary>
    public static JsonDocument ParseUpstream(ReadOnlySpan<byte> utf8, string what) =>
        TryParse(utf8) ?? throw new InvalidDataException($"The Anthropic API sent {what} that is not valid JSON.");

    /// <summary>The member <paramref name="name"/> of <paramref name="element"/> when it is an object holding a non-null one.</summary>
    public static JsonElement? Get(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value
            : null;

    /// <summary>The string member <paramref name="name"/>, or null when it is absent or not a string.</summary>
    public static string? String(JsonElement element, string name) =>
        Get(element, name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;
}
