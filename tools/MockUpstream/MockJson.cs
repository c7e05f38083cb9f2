using System.Text.Encodings.Web;
using System.Text.Json;

namespace Gateway.Aspire.MockUpstream;

/// <summary>
/// JSON plumbing shared by every wire format: reading a request body into a <see cref="JsonDocument"/>
/// and the few tolerant lookups the formats need. Writing goes through <see cref="Utf8JsonWriter"/>
/// (no reflection serialisation: the mock is also the benchmark upstream).
/// </summary>
internal static class MockJson
{
    /// <summary>Relaxed escaping, as the providers write: model text full of quotes and '&lt;' stays readable.</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The request body as JSON, or null when it is not a JSON object.</summary>
    public static async Task<JsonDocument?> ReadObjectAsync(HttpContext context)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
        }
        catch (JsonException)
        {
            return null;
        }

        if (document.RootElement.ValueKind == JsonValueKind.Object)
        {
            return document;
        }

        document.Dispose();
        return null;
    }

    /// <summary>A property of <paramref name="element"/>, false when it is absent or <paramref name="element"/> is no object.</summary>
    public static bool TryGet(JsonElement element, string name, out JsonElement value)
    {
        if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out value))
        {
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>A string property, or null when absent or not a string.</summary>
    public static string? String(JsonElement element, string name) =>
        TryGet(element, name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>A whole-number property, or null when absent or not an integer.</summary>
    public static int? Int(JsonElement element, string name) =>
        TryGet(element, name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) ? number : null;

    /// <summary>True when the property is the JSON literal <c>true</c>.</summary>
    public static bool True(JsonElement element, string name) =>
        TryGet(element, name, out var value) && value.ValueKind == JsonValueKind.True;

    /// <summary>An array property, or an empty enumeration when absent or not an array.</summary>
    public static IEnumerable<JsonElement> Array(JsonElement element, string name) =>
        TryGet(element, name, out var value) && value.ValueKind == JsonValueKind.Array ? value.EnumerateArray() : [];

    /// <summary>
    /// The text of a message content: a string, or the <c>text</c> of each part of an array of parts
    /// joined with spaces (OpenAI content parts, Anthropic content blocks and Gemini parts all carry
    /// their text in a <c>text</c> property).
    /// </summary>
    public static string Text(JsonElement content) => content.ValueKind switch
    {
        JsonValueKind.String => content.GetString() ?? "",
        JsonValueKind.Array => string.Join(" ", content.EnumerateArray()
            .Select(part => String(part, "text"))
            .Where(text => text is not null)),
        _ => "",
    };

    /// <summary>The name of the first property of a JSON schema (<c>properties</c>), for a plausible tool argument.</summary>
    public static string? FirstProperty(JsonElement schema) =>
        TryGet(schema, "properties", out var properties) && properties.ValueKind == JsonValueKind.Object
            ? properties.EnumerateObject().Select(p => p.Name).FirstOrDefault()
            : null;
}
