using Gateway.Aspire.Policy.Grpc;

namespace Gateway.Aspire.Router.Caching;

/// <summary>The namespace a caller's cached answers are shared within.</summary>
internal static class CacheTenant
{
    /// <summary>
    /// The caller's token, identified by its id rather than its name: names are not unique (two
    /// teams may both call a token "ci"), and sharing answers between them would leak one's
    /// prompts' answers to the other. The cost is that a rotated token starts with an empty cache.
    /// Policy now also reports the virtual account and teams; sharing answers that widely is not
    /// decided yet (a user in two teams has no single team). Null (do not cache) for a caller
    /// without an identity.
    /// </summary>
    public static string? Of(Identity? identity) =>
        identity is { TokenId.Length: > 0 } ? "virtualaccount:" + identity.TokenId : null;
}
