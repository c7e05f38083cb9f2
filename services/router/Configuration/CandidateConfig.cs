using Gateway.Aspire.ServiceDefaults.Configuration;

namespace Gateway.Aspire.Router.Configuration;

/// <summary>
/// The router's part of validating a configuration change: its own types (provider accounts,
/// load balancing, and the targets of one against the models of the other) in the candidate
/// effective configuration, with the loader that reads them at start, so errors read the same.
/// </summary>
internal static class CandidateConfig
{
    /// <summary>
    /// Validates <paramref name="candidate"/> (throws <see cref="ManifestException"/> naming the
    /// document and field) and returns every model a rule may name in it: the catalog's
    /// <c>&lt;account&gt;/&lt;model&gt;</c> ids and the virtual models of the load-balancing rules.
    /// </summary>
    public static IReadOnlyList<string> Validate(IReadOnlyList<ManifestDocument> candidate, Func<string, string?> environment)
    {
        var config = GatewayConfigLoader.Parse(candidate, "effective configuration", environment);
        var catalog = config.ProviderAccounts.SelectMany(a => a.Models.Select(m => $"{a.Name}/{m.Name}")).ToHashSet(StringComparer.Ordinal);
        var virtualModels = config.LoadBalancingRules.SelectMany(r => r.Models).Where(m => !catalog.Contains(m));
        return [.. catalog.Concat(virtualModels).Distinct(StringComparer.Ordinal)];
    }
}
