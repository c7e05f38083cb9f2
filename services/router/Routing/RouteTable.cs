using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Configuration;

namespace Gateway.Aspire.Router.Routing;

/// <summary>A load-balance target resolved against the catalog.</summary>
/// <param name="Config">The target as configured.</param>
/// <param name="Model">The catalog model it calls.</param>
/// <param name="Index">Its position in the rule's <c>load_balance_targets</c>.</param>
internal sealed record RouteTarget(LoadBalanceTarget Config, CatalogModel Model, int Index)
{
    /// <summary>The target's id, <c>&lt;account&gt;/&lt;model&gt;</c> (keys health, latency and metrics).</summary>
    public string Id => Model.Id;
}

/// <summary>A rule with its targets resolved.</summary>
/// <param name="Rule">The rule as configured.</param>
/// <param name="Targets">Its targets, in file order.</param>
internal sealed record RouteRule(LoadBalancingRule Rule, IReadOnlyList<RouteTarget> Targets);

/// <summary>
/// The load-balancing rules indexed for the hot path: a request naming a catalog model that no
/// rule mentions costs one dictionary miss (and nothing else) when no rule matches every model.
/// </summary>
internal sealed class RouteTable
{
    private readonly RouteRule[] _rules;
    private readonly Dictionary<string, RouteRule[]> _byModel;
    private readonly bool _hasAnyModelRules;
    private readonly RouteRule[] _taskRules;

    /// <summary>Resolves <paramref name="catalog"/>'s rules.</summary>
    public RouteTable(ModelCatalog catalog)
    {
        _rules = [.. catalog.Config.LoadBalancingRules.Select(rule => new RouteRule(rule,
            [.. rule.Targets.Select((t, i) => new RouteTarget(t, catalog.TryResolve(t.Target, out var model)
                ? model
                : throw new GatewayConfigException($"{rule.Source}: target '{t.Target}' is not in the catalog."), i))]))];
        _hasAnyModelRules = _rules.Any(r => r.Rule.Models.Count == 0);
        _byModel = _rules.SelectMany(r => r.Rule.Models.Select(m => (Model: m, Rule: r)))
            .GroupBy(x => x.Model, StringComparer.Ordinal)
            // Rules that match every model are part of each list too, in file order, so first-match order holds.
            .ToDictionary(g => g.Key, g => _rules.Where(r => r.Rule.Models.Count == 0 || r.Rule.Models.Contains(g.Key)).ToArray(), StringComparer.Ordinal);
        _taskRules = [.. _rules.Where(r => r.Rule.DefaultModel is not null)];
        VirtualModels = [.. _rules.SelectMany(r => r.Rule.Models).Where(m => !catalog.TryResolve(m, out _)).Distinct(StringComparer.Ordinal)];
        Targets = [.. _rules.SelectMany(r => r.Targets).DistinctBy(t => t.Id)];
    }

    /// <summary>
    /// Every target a rule for <paramref name="model"/> may route to (any caller): what admission
    /// prices a virtual model's maximum cost at, before the rule for this caller is known.
    /// </summary>
    public IEnumerable<CatalogModel> TargetModelsOf(string model) =>
        _byModel.TryGetValue(model, out var rules) ? rules.SelectMany(r => r.Targets).Select(t => t.Model) : [];

    /// <summary>Every rule, in file order.</summary>
    public IReadOnlyList<RouteRule> Rules => _rules;

    /// <summary>Model names that exist only through rules (listed by <c>GET /v1/models</c>).</summary>
    public IReadOnlyList<string> VirtualModels { get; }

    /// <summary>Every distinct target of every rule.</summary>
    public IReadOnlyList<RouteTarget> Targets { get; }

    /// <summary>
    /// The first rule whose <c>when</c> matches, or null. The caller is <paramref name="identity"/>:
    /// rules name it as <c>virtualaccount:</c>, <c>user:</c> or any of its <c>team:</c>s.
    /// </summary>
    public RouteRule? Match(string model, Identity identity, IReadOnlyDictionary<string, string> metadata)
    {
        if (!_byModel.TryGetValue(model, out var candidates))
        {
            if (!_hasAnyModelRules)
            {
                return null; // the hot path for a plain <account>/<model>: one dictionary miss
            }

            candidates = _rules;
        }

        foreach (var rule in candidates)
        {
            if ((rule.Rule.Models.Count == 0 || rule.Rule.Models.Contains(model)) && Matches(rule.Rule, identity, metadata))
            {
                return rule;
            }
        }

        return null;
    }

    /// <summary>The task default: the model of the first rule with a <c>default_model</c> whose <c>when.metadata</c> matches, or null.</summary>
    public string? DefaultModelFor(IReadOnlyDictionary<string, string> metadata)
    {
        foreach (var rule in _taskRules)
        {
            if (MetadataMatches(rule.Rule, metadata))
            {
                return rule.Rule.DefaultModel;
            }
        }

        return null;
    }

    private static bool Matches(LoadBalancingRule rule, Identity identity, IReadOnlyDictionary<string, string> metadata) =>
        (rule.Subjects.Count == 0 || rule.Subjects.Any(s => IsSubject(s, identity))) && MetadataMatches(rule, metadata);

    // Compares without building "<kind>:<name>" strings for every request.
    private static bool IsSubject(string subject, Identity identity)
    {
        if (Named(subject, VirtualAccountPrefix, Forwarding.GuardrailSubjects.VirtualAccountOf(identity)))
        {
            return true;
        }

        if (identity.User.Length > 0 && Named(subject, UserPrefix, identity.User))
        {
            return true;
        }

        foreach (var team in identity.Teams)
        {
            if (Named(subject, TeamPrefix, team))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Named(string subject, string prefix, string name) =>
        name.Length > 0 && subject.StartsWith(prefix, StringComparison.Ordinal) && subject.AsSpan(prefix.Length).SequenceEqual(name);

    private const string VirtualAccountPrefix = "virtualaccount:";
    private const string UserPrefix = "user:";
    private const string TeamPrefix = "team:";

    private static bool MetadataMatches(LoadBalancingRule rule, IReadOnlyDictionary<string, string> metadata)
    {
        foreach (var (key, value) in rule.Metadata)
        {
            if (!metadata.TryGetValue(key, out var actual) || actual != value)
            {
                return false;
            }
        }

        return true;
    }
}
