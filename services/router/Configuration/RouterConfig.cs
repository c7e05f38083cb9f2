using Gateway.Aspire.Router.Routing;

namespace Gateway.Aspire.Router.Configuration;

/// <summary>
/// Everything the router takes from the configuration, resolved for the hot path: the model catalog
/// (provider accounts, prices, per-model cache settings), the virtual-model routing table and whether
/// any guardrails rule exists. Immutable; the live configuration swaps it whole
/// (<see cref="ServiceDefaults.Configuration.LiveConfig{T}"/>), and a request reads it once at its
/// start and keeps that snapshot to the end, retries and fallbacks included.
/// </summary>
/// <param name="Catalog">The provider accounts' models.</param>
/// <param name="Routes">The load-balancing rules resolved against <paramref name="Catalog"/>.</param>
internal sealed record RouterConfig(ModelCatalog Catalog, RouteTable Routes)
{
    /// <summary>The parsed configuration (<see cref="GatewayConfig.HasGuardrailsRules"/> and the accounts).</summary>
    public GatewayConfig Config => Catalog.Config;

    /// <summary>Resolves <paramref name="config"/>; <c>${ENV}</c> references through <paramref name="environment"/>.</summary>
    public static RouterConfig Resolve(GatewayConfig config, Func<string, string?> environment, DateTimeOffset loadedAt)
    {
        var catalog = new ModelCatalog(config, environment, loadedAt);
        return new RouterConfig(catalog, new RouteTable(catalog));
    }

    /// <summary>
    /// Parses, validates and resolves a configuration text (the live configuration's effective YAML);
    /// <paramref name="source"/> names it in error messages and in <see cref="GatewayConfig.Path"/>.
    /// </summary>
    public static RouterConfig Parse(string text, string source, Func<string, string?> environment, DateTimeOffset loadedAt) =>
        Resolve(GatewayConfigLoader.Parse(text, source, environment) with { Path = source }, environment, loadedAt);
}
