using Microsoft.AspNetCore.Http;
using Gateway.Aspire.Router.Configuration;
using Gateway.Aspire.Router.Routing;
using Gateway.Aspire.ServiceDefaults.Configuration;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aspire.Router.Tests.Routing;

/// <summary>Builds a route table and the routing services over a fake clock, without a host.</summary>
internal sealed class RoutingTestRules
{
    public RoutingTestRules(string rules, IRoutingStateStore? store = null, RoutingOptions? options = null)
    {
        var accounts = string.Join("\n", "abcdef".Select(c => $"""
            ---
            type: provider-account
            name: {c}
            provider: openai-compatible
            base_url: http://127.0.0.1:9/v1
            models: [{"{"} name: m {"}"}]
            """));
        var config = GatewayConfigLoader.Parse($"{accounts}\n---\n{rules}", "gateway.yaml", _ => null);
        Options = Microsoft.Extensions.Options.Options.Create(options ?? new RoutingOptions());
        var resolved = RouterConfig.Resolve(config, _ => null, DateTimeOffset.UnixEpoch);
        Routes = resolved.Routes;
        Store = store ?? new InMemoryRoutingStateStore(Time);
        Metrics = new RoutingMetrics(new TestMeterFactory());
        Health = new TargetHealthRegistry(new LiveConfig<RouterConfig>(resolved), Options, Time, Metrics);
        Latency = new LatencyTracker(Store, Options, Time);
        Sticky = new StickySessions(Store);
        Planner = new RoutePlanner(Health, Latency, Sticky);
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public IOptions<RoutingOptions> Options { get; }

    public RouteTable Routes { get; }

    public IRoutingStateStore Store { get; }

    public RoutingMetrics Metrics { get; }

    public TargetHealthRegistry Health { get; }

    public LatencyTracker Latency { get; }

    public StickySessions Sticky { get; }

    public RoutePlanner Planner { get; }

    /// <summary>The plan's candidate ids for a request without headers or metadata.</summary>
    public async Task<string[]> PlanAsync(string ruleId, IHeaderDictionary? headers = null)
    {
        var rule = Routes.Rules.Single(r => r.Rule.Id == ruleId);
        var plan = await Planner.PlanAsync(rule, "chat", headers ?? new HeaderDictionary(), new Dictionary<string, string>());
        return [.. plan.Candidates.Select(c => c.Id)];
    }

    private sealed class TestMeterFactory : System.Diagnostics.Metrics.IMeterFactory
    {
        private readonly List<System.Diagnostics.Metrics.Meter> _meters = [];

        public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options)
        {
            var meter = new System.Diagnostics.Metrics.Meter(options);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose() => _meters.ForEach(m => m.Dispose());
    }
}
