using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;

namespace Gateway.Aspire.Router.Routing;

/// <summary>The health of every target of every load-balancing rule, created once at start.</summary>
internal sealed class TargetHealthRegistry
{
    private readonly Dictionary<string, TargetHealth> _targets;

    /// <summary>Creates a <see cref="TargetHealth"/> per distinct target of <paramref name="routes"/>.</summary>
    public TargetHealthRegistry(RouteTable routes, IOptions<RoutingOptions> options, TimeProvider time, RoutingMetrics metrics)
    {
        _targets = routes.Targets.ToDictionary(
            t => t.Id, t => new TargetHealth(t.Id, t.Model.Account.Name, options.Value, time, metrics), StringComparer.Ordinal);
        metrics.Meter.CreateObservableGauge("gateway.router.target.circuit_state",
            () => _targets.Values.Select(h => new Measurement<int>((int)h.Circuit, new KeyValuePair<string, object?>("target", h.Id))),
            description: "Circuit state per target: 0 closed, 1 open, 2 half-open, 3 isolated.");
    }

    /// <summary>Every target's health, in rule order.</summary>
    public IEnumerable<TargetHealth> All => _targets.Values;

    /// <summary>The health of <paramref name="target"/> (every routed target has one).</summary>
    public TargetHealth this[string target] => _targets[target];

    /// <summary>
    /// Provider accounts that can serve now: those with a model outside every rule, or with a
    /// routed target whose circuit is not open.
    /// </summary>
    public int ProvidersActive(Configuration.ModelCatalog catalog) => catalog.Config.ProviderAccounts.Count(account =>
    {
        var routed = _targets.Values.Where(h => h.Account == account.Name).ToList();
        return routed.Count < account.Models.Count || routed.Any(h => h.Circuit != CircuitState.Open && h.Circuit != CircuitState.Isolated);
    });
}
