namespace Gateway.Aspire.Router.Routing;

/// <summary>The targets one request will try, in order, under one rule.</summary>
/// <param name="Rule">The rule that matched.</param>
/// <param name="Candidates">The selected target first, then the fallback candidates.</param>
/// <param name="StickyKey">The session key when the rule is sticky and the request names a session, else null.</param>
internal sealed record RoutePlan(RouteRule Rule, IReadOnlyList<RouteTarget> Candidates, string? StickyKey);

/// <summary>
/// Picks the first target of a routed request by the rule's strategy and orders the fallbacks
/// behind it; a sticky session's target goes first while it is available.
/// </summary>
/// <remarks>
/// <para>Weight-based: smooth weighted round robin (nginx's), per rule and replica: deterministic,
/// and every run of sum-of-weights requests splits exactly by weight, which random choice only
/// approaches. Unavailable targets are left out of the round.</para>
/// <para>Latency-based: a target with fewer than <see cref="RoutingOptions.LatencyMinSamples"/> samples
/// in the window is probed first (fewest samples first), else the lowest average time per output token wins.</para>
/// <para>Priority-based: the lowest <c>priority</c> among healthy targets; a target whose recent TPOT is
/// above its <c>sla_cutoff</c> is unhealthy and goes after every healthy one, and it recovers when its
/// window's average drops back under the cutoff (slow samples age out of the window).</para>
/// <para>Fallbacks: every other target with <c>fallback_candidate</c> (default true), in the
/// strategy's order of preference. Circuits and Retry-After cool-downs are re-checked by the
/// attempt loop before each attempt.</para>
/// </remarks>
internal sealed class RoutePlanner(TargetHealthRegistry health, LatencyTracker latency, StickySessions sticky)
{
    private readonly Dictionary<string, long[]> _roundRobin = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Plans <paramref name="rule"/> for a request; <paramref name="modelType"/> filters targets that cannot serve the API.</summary>
    public async ValueTask<RoutePlan> PlanAsync(RouteRule rule, string modelType, IHeaderDictionary headers, IReadOnlyDictionary<string, string> metadata)
    {
        var eligible = rule.Targets.Where(t => t.Model.Model.Types.Contains(modelType)).ToList();
        var stats = rule.Rule.Strategy == RoutingStrategy.Weight || eligible.Count == 0
            ? null
            : await ReadStatsAsync(eligible);
        var preference = Order(rule.Rule.Strategy, eligible, stats);

        RouteTarget? first = null;
        var stickyKey = StickySessions.KeyOf(rule.Rule, headers, metadata);
        if (stickyKey is not null && await sticky.GetAsync(stickyKey) is { } boundId)
        {
            first = eligible.FirstOrDefault(t => t.Id == boundId && health[t.Id].IsAvailable);
        }

        first ??= rule.Rule.Strategy switch
        {
            RoutingStrategy.Weight => NextByWeight(rule, eligible),
            RoutingStrategy.Latency => eligible.Where(t => health[t.Id].IsAvailable)
                .OrderBy(t => stats![t.Id].Samples >= latency.MinSamples ? 1 : 0).ThenBy(t => stats![t.Id].Samples < latency.MinSamples ? stats[t.Id].Samples : 0)
                .ThenBy(t => preference.IndexOf(t)).FirstOrDefault(),
            _ => preference.FirstOrDefault(t => health[t.Id].IsAvailable),
        };

        var candidates = new List<RouteTarget>(eligible.Count);
        if (first is not null)
        {
            candidates.Add(first);
        }

        candidates.AddRange(preference.Where(t => t != first && t.Config.FallbackCandidate));
        return new RoutePlan(rule, candidates, stickyKey);
    }

    private async ValueTask<Dictionary<string, TpotStats>> ReadStatsAsync(List<RouteTarget> targets)
    {
        var stats = new Dictionary<string, TpotStats>(targets.Count, StringComparer.Ordinal);
        foreach (var target in targets)
        {
            stats[target.Id] = await latency.GetAsync(target.Id);
        }

        return stats;
    }

    /// <summary>The strategy's order of preference over every eligible target (fallback order).</summary>
    private List<RouteTarget> Order(RoutingStrategy strategy, List<RouteTarget> targets, Dictionary<string, TpotStats>? stats) => strategy switch
    {
        RoutingStrategy.Weight => [.. targets.OrderByDescending(t => t.Config.Weight).ThenBy(t => t.Index)],
        // Unmeasured targets after measured ones: a fallback should be a known quantity.
        RoutingStrategy.Latency => [.. targets.OrderBy(t => stats![t.Id].Samples == 0 ? 1 : 0).ThenBy(t => stats![t.Id].AverageMs).ThenBy(t => t.Index)],
        _ => [.. targets.OrderBy(t => IsOverSla(t, stats![t.Id]) ? 1 : 0).ThenBy(t => t.Config.Priority).ThenBy(t => t.Index)],
    };

    private bool IsOverSla(RouteTarget target, TpotStats stats) =>
        target.Config.SlaCutoffTpotMs is { } cutoff && stats.Samples >= latency.MinSamples && stats.AverageMs > cutoff;

    /// <summary>Smooth weighted round robin over the available targets of <paramref name="rule"/>.</summary>
    private RouteTarget? NextByWeight(RouteRule rule, List<RouteTarget> eligible)
    {
        lock (_lock)
        {
            if (!_roundRobin.TryGetValue(rule.Rule.Id, out var current))
            {
                _roundRobin[rule.Rule.Id] = current = new long[rule.Targets.Count];
            }

            RouteTarget? best = null;
            long total = 0;
            foreach (var target in eligible)
            {
                if (target.Config.Weight <= 0 || !health[target.Id].IsAvailable)
                {
                    continue;
                }

                current[target.Index] += target.Config.Weight;
                total += target.Config.Weight;
                if (best is null || current[target.Index] > current[best.Index])
                {
                    best = target;
                }
            }

            if (best is not null)
            {
                current[best.Index] -= total;
            }

            return best;
        }
    }
}
