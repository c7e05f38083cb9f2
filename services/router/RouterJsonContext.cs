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
[JsonSerializable(typeof(TargetsResponse))]
[JsonSerializable(typeof(MetricsSummary))]
[JsonSerializable(typeof(RotateTokenBody))]
[JsonSerializable(typeof(CreateUserBody))]
[JsonSerializable(typeof(CreateTeamBody))]
[JsonSerializable(typeof(TeamMemberBody))]
[JsonSerializable(typeof(CreateVirtualAccountBody))]
[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(UserResponse))]
[JsonSerializable(typeof(TeamResponse))]
[JsonSerializable(typeof(VirtualAccountResponse))]
[JsonSerializable(typeof(ConfigChangeResponse))]
[JsonSerializable(typeof(ConfigHistoryResponse))]
[JsonSerializable(typeof(AdminList<TokenResponse>), TypeInfoPropertyName = "AdminListTokenResponse")]
[JsonSerializable(typeof(AdminList<UserResponse>), TypeInfoPropertyName = "AdminListUserResponse")]
[JsonSerializable(typeof(AdminList<TeamResponse>), TypeInfoPropertyName = "AdminListTeamResponse")]
[JsonSerializable(typeof(AdminList<VirtualAccountResponse>), TypeInfoPropertyName = "AdminListVirtualAccountResponse")]
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
