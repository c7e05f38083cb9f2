using System.Text.Json.Serialization;
using Gateway.Aspire.Policy.Grpc;
using Google.Protobuf.WellKnownTypes;

namespace Gateway.Aspire.Router.Apis;

/// <summary>Body of <c>POST /admin/v1/tokens</c>; <c>kind</c> defaults to <c>virtual-account</c>.</summary>
public sealed record CreateTokenBody(
    string? Name, IReadOnlyList<string>? Models, DateTimeOffset? ExpiresAt, string? Kind = null, string? User = null, string? Team = null);

/// <summary>Body of <c>POST /admin/v1/tokens/{id}/rotate</c> (optional): how long the old secret keeps working, default 24 h.</summary>
public sealed record RotateTokenBody(long? GraceSeconds);

/// <summary>Body of <c>POST /admin/v1/users</c>.</summary>
public sealed record CreateUserBody(string? Name, string? Email, bool? Admin);

/// <summary>Body of <c>POST /admin/v1/teams</c>: <c>models</c> bounds what members' personal tokens may call (none: every model).</summary>
public sealed record CreateTeamBody(string? Name, IReadOnlyList<string>? Models, IReadOnlyList<string>? Members);

/// <summary>Body of <c>POST /admin/v1/teams/{team}/members</c>.</summary>
public sealed record TeamMemberBody(string? User, bool? Admin);

/// <summary>Body of <c>POST /admin/v1/virtual-accounts</c>.</summary>
public sealed record CreateVirtualAccountBody(string? Name, string? Team, IReadOnlyList<string>? Models, IReadOnlyDictionary<string, string>? Metadata);

/// <summary>
/// A token as the admin API shows it. <c>token</c> (the secret) is only in the answers of create
/// and rotate, once; <c>display</c> (<c>gw-vat-AbCd…wxyz</c>) identifies it afterwards.
/// </summary>
public sealed record TokenResponse(
    string Id,
    string Name,
    string Kind,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Token,
    string Display,
    string? User,
    string? Team,
    string? VirtualAccount,
    IReadOnlyList<string> Models,
    DateTimeOffset? CreatedAt,
    DateTimeOffset? ExpiresAt)
{
    /// <summary>Rotation: the replaced token.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ReplacedId { get; init; }

    /// <summary>Rotation: when the replaced token stops working.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? ReplacedExpiresAt { get; init; }

    /// <summary>Listing: the token a rotation issued in this one's place.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? RotatedTo { get; init; }

    internal static TokenResponse From(CreateTokenReply reply) =>
        new(reply.Id, reply.Name, reply.Kind, reply.Token, reply.Display, Optional(reply.User), Optional(reply.Team), Optional(reply.VirtualAccount),
            reply.Models, Time(reply.CreatedAt), Time(reply.ExpiresAt))
        {
            ReplacedId = Optional(reply.ReplacedId),
            ReplacedExpiresAt = Time(reply.ReplacedExpiresAt),
        };

    internal static TokenResponse From(TokenInfo info) =>
        new(info.Id, info.Name, info.Kind, null, info.Display, Optional(info.User), Optional(info.Team), Optional(info.VirtualAccount),
            info.Models, Time(info.CreatedAt), Time(info.ExpiresAt))
        {
            RotatedTo = Optional(info.RotatedTo),
        };

    internal static string? Optional(string value) => value.Length == 0 ? null : value;

    internal static DateTimeOffset? Time(Timestamp? value) => value?.ToDateTimeOffset();
}

/// <summary>A user.</summary>
public sealed record UserResponse(string Id, string Name, string? Email, bool Admin, IReadOnlyList<string> Teams, DateTimeOffset? CreatedAt)
{
    internal static UserResponse From(User user) =>
        new(user.Id, user.Name, TokenResponse.Optional(user.Email), user.Admin, user.Teams, TokenResponse.Time(user.CreatedAt));
}

/// <summary>A member of a team.</summary>
public sealed record TeamMemberResponse(string User, bool Admin);

/// <summary>A team; empty <c>models</c> means its members may call every model.</summary>
public sealed record TeamResponse(string Id, string Name, IReadOnlyList<string> Models, IReadOnlyList<TeamMemberResponse> Members, DateTimeOffset? CreatedAt)
{
    internal static TeamResponse From(Team team) =>
        new(team.Id, team.Name, team.Models, [.. team.Members.Select(m => new TeamMemberResponse(m.User, m.Admin))], TokenResponse.Time(team.CreatedAt));
}

/// <summary>A virtual account.</summary>
public sealed record VirtualAccountResponse(
    string Id, string Name, string Team, IReadOnlyList<string> Models, IReadOnlyDictionary<string, string> Metadata, DateTimeOffset? CreatedAt)
{
    internal static VirtualAccountResponse From(VirtualAccount account) =>
        new(account.Id, account.Name, account.Team, account.Models, account.Metadata, TokenResponse.Time(account.CreatedAt));
}

/// <summary>OpenAI's list envelope, <c>{"object": "list", "data": [...]}</c>.</summary>
/// <typeparam name="T">The item type.</typeparam>
public sealed record AdminList<T>(string Object, IReadOnlyList<T> Data);
