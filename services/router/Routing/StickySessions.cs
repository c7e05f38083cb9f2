using System.Security.Cryptography;
using System.Text;

namespace Gateway.Aspire.Router.Routing;

/// <summary>
/// Sticky routing: a session (the values of a rule's <c>session_identifiers</c>) keeps the target it
/// was first served by, in the shared store with the rule's TTL, until that target fails.
/// </summary>
internal sealed class StickySessions(IRoutingStateStore store)
{
    /// <summary>
    /// The session key of a request under <paramref name="rule"/>, or null when the rule is not sticky
    /// or the request lacks one of the identifiers. Values are hashed: they may be user ids.
    /// </summary>
    public static string? KeyOf(LoadBalancingRule rule, IHeaderDictionary headers, IReadOnlyDictionary<string, string> metadata)
    {
        if (rule.Sticky is not { } sticky)
        {
            return null;
        }

        var material = new StringBuilder(rule.Id);
        foreach (var identifier in sticky.SessionIdentifiers)
        {
            var value = identifier.Source == "headers" ? headers[identifier.Key].ToString() : metadata.GetValueOrDefault(identifier.Key);
            if (string.IsNullOrEmpty(value))
            {
                return null;
            }

            material.Append('\n').Append(identifier.Key).Append('=').Append(value);
        }

        return rule.Id + ":" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(material.ToString())));
    }

    /// <summary>The target the session is bound to, or null.</summary>
    public Task<string?> GetAsync(string key) => store.GetStickyAsync(key);

    /// <summary>Binds the session to <paramref name="target"/> after it served, refreshing the TTL.</summary>
    public Task BindAsync(string key, string target, TimeSpan ttl) => store.SetStickyAsync(key, target, ttl);

    /// <summary>Breaks the binding: its target failed.</summary>
    public void Break(string key) => store.ClearSticky(key);
}
