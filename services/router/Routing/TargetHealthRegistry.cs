using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Gateway.Aspire.Router.Configuration;
using Gateway.Aspire.ServiceDefaults.Configuration;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;

namespace Gateway.Aspire.Router.Routing;

/// <summary>
/// The health of every target of every load-balancing rule. A target keeps its health (circuit,
/// counters) across configuration reloads as long as some rule still routes to it; a target a reload
/// adds gets a fresh one on first use.
/// </summary>
internal sealed class TargetHealthRegistry
{
    private readonly ConcurrentDictionary<string, TargetHealth> _targets = new(StringComparer.Ordinal);
    private readonly LiveConfig<RouterConfig> _live;
    private readonly RoutingOptions _options;
    private readonly TimeProvider _time;
    private readonly RoutingMetrics _metrics;

    /// <summary>Creates the registry over the targets of the live routing table.</summary>
    public TargetHealthRegistry(LiveConfig<RouterConfig> live, IOptions<RoutingOptions> options, TimeProvider time, RoutingMetrics metrics)
    {
        _live = live;
        _options = options.Value;
        _time = time;
        _metrics = metrics;
        metrics.Meter.CreateObservableGauge("gateway.router.target.circuit_state",
            () => All.Select(h => new Measurement<int>((int)h.Circuit, new KeyValuePair<string, object?>("target", h.Id))),
            description: "Circuit state per target: 0 closed, 1 open, 2 half-open, 3 isolated.");
    }

    /// <summary>The health of every target of the routing table in force, in rule order.</summary>
    public IEnumerable<TargetHealth> All => Of(_live.Current.Routes);

    /// <summary>The health of every target of <paramref name="routes"/>, in rule order.</summary>
    public IEnumerable<TargetHealth> Of(RouteTable routes) => routes.Targets.Select(t => this[t.Id]);

    /// <summary>The health of <paramref name="target"/>, <c>&lt;account&gt;/&lt;model&gt;</c>.</summary>
    public TargetHealth this[string target] =>
        // The static factory keeps the hot path (an existing target) free of closures.
        _targets.GetOrAdd(target, static (id, registry) => registry.Create(id), this);

    /// <summary>
    /// Provider accounts that can serve now: those with a model outside every rule, or with a
    /// routed target whose circuit is not open.
    /// </summary>
    public int ProvidersActive(RouterConfig config) => config.Config.ProviderAccounts.Count(account =>
    {
        var routed = Of(config.Routes).Where(h => h.Account == account.Name).ToList();
        return routed.Count < account.Models.Count || routed.Any(h => h.Circuit != CircuitState.Open && h.Circuit != CircuitState.Isolated);
    });

    // The account is the id's first segment: account names cannot contain '/'.
    private TargetHealth Create(string id) => new(id, id[..id.IndexOf('/', StringComparison.Ordinal)], _options, _time, _metrics);
}
