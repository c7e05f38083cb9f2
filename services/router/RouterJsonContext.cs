using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Gateway.Aspire.Router.Apis;
using Gateway.Aspire.Router.Errors;

namespace Gateway.Aspire.Router;

/// <summary>Source-generated JSON for everything the router writes itself (no reflection on the hot path).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(OpenAiErrorEnvelope))]
[JsonSerializable(typeof(ModelListResponse))]
[JsonSerializable(typeof(ModelListEntry))]
[JsonSerializable(typeof(CreateTokenBody))]
[JsonSerializable(typeof(CreatedTokenResponse))]
[JsonSerializable(typeof(TargetsResponse))]
[JsonSerializable(typeof(MetricsSummary))]
internal sealed partial class RouterJsonContext : JsonSerializerContext
{
    /// <summary>
    /// The context responses use: relaxed escaping, because messages full of quotes and angle
    /// brackets read badly as \u0027 and \u003C in curl, and an application/json body is never
    /// embedded in HTML.
    /// </summary>
    public static RouterJsonContext Web { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
