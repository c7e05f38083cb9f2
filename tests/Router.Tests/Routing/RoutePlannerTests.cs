using Microsoft.AspNetCore.Http;
using Gateway.Aspire.Router.Routing;

namespace Gateway.Aspire.Router.Tests.Routing;

public sealed class RoutePlannerTests
{
    [Fact]
    public async Task Weighted_split_over_2000_requests_is_within_three_points_of_the_weights()
    {
        var rules = new RoutingTestRules("""
            type: gateway-load-balancing-config
            rules:
              - id: w
                type: weight-based-routing
                when: { models: [w] }
                load_balance_targets: [{ target: a/m, weight: 50 }, { target: b/m, weight: 30 }, { target: c/m, weight: 15 }, { target: d/m, weight: 5 }]
            """);
        var counts = new Dictionary<string, int>();
        for (var i = 0; i < 2000; i++)
        {
            var first = (await rules.PlanAsync("w"))[0];
            counts[first] = counts.GetValueOrDefault(first) + 1;
        }

        foreach (var (target, weight) in new[] { ("a/m", 50), ("b/m", 30), ("c/m", 15), ("d/m", 5) })
        {
            Assert.InRange(100.0 * counts[target] / 2000, weight - 3, weight + 3);
        }

        // Smooth weighted round robin is exact over any whole number of rounds.
        Assert.Equal([1000, 600, 300, 100], new[] { "a/m", "b/m", "c/m", "d/m" }.Select(t => counts[t]));
    }

    [Fact]
    public async Task Fallbacks_follow_the_first_choice_and_leave_out_non_candidates()
    {
        var rules = new RoutingTestRules("""
            type: gateway-load-balancing-config
            rules:
              - id: p
                type: priority-based-routing
                when: { models: [p] }
                load_balance_targets:
                  - { target: c/m, priority: 2 }
                  - { target: a/m, priority: 0 }
                  - { target: d/m, priority: 3, fallback_candidate: false }
                  - { target: b/m, priority: 1 }
            """);

        Assert.Equal(["a/m", "b/m", "c/m"], await rules.PlanAsync("p"));
    }

    [Fact]
    public async Task Priority_skips_a_target_over_its_sla_cutoff_until_its_window_recovers()
    {
        var rules = new RoutingTestRules("""
            type: gateway-load-balancing-config
            rules:
              - id: sla
                type: priority-based-routing
                when: { models: [sla] }
                load_balance_targets:
                  - { target: a/m, priority: 0, sla_cutoff: { time_per_output_token_ms: 50 } }
                  - { target: b/m, priority: 1 }
            """);
        Assert.Equal("a/m", (await rules.PlanAsync("sla"))[0]);

        for (var i = 0; i < 3; i++)
        {
            rules.Latency.Record("a/m", 80); // slower than its SLA
        }

        Assert.Equal(["b/m", "a/m"], await rules.PlanAsync("sla"));

        // 21 minutes later the slow samples have left the 20-minute window: a/m is healthy again.
        rules.Time.Advance(TimeSpan.FromMinutes(21));
        Assert.Equal(["a/m", "b/m"], await rules.PlanAsync("sla"));

        for (var i = 0; i < 3; i++)
        {
            rules.Latency.Record("a/m", 20);
        }

        Assert.Equal("a/m", (await rules.PlanAsync("sla"))[0]);
    }

    [Fact]
    public async Task Latency_probes_unmeasured_targets_then_picks_the_lowest_time_per_token()
    {
        var rules = new RoutingTestRules("""
            type: gateway-load-balancing-config
            rules:
              - id: lat
                type: latency-based-routing
                when: { models: [lat] }
                load_balance_targets: [{ target: a/m }, { target: b/m }, { target: c/m }]
            """);
        rules.Latency.Record("a/m", 30);
        rules.Latency.Record("a/m", 30);
        rules.Latency.Record("a/m", 30);
        rules.Latency.Record("b/m", 10);
        rules.Latency.Record("b/m", 10);
        rules.Latency.Record("b/m", 10);

        // c/m has no data: it is probed first, and fallbacks go fastest first, the unmeasured last.
        Assert.Equal(["c/m", "b/m", "a/m"], await rules.PlanAsync("lat"));

        for (var i = 0; i < 3; i++)
        {
            rules.Latency.Record("c/m", 20);
        }

        Assert.Equal(["b/m", "c/m", "a/m"], await rules.PlanAsync("lat"));
    }

    [Fact]
    public async Task A_sticky_session_goes_to_its_bound_target_while_it_is_available()
    {
        var rules = new RoutingTestRules("""
            type: gateway-load-balancing-config
            rules:
              - id: s
                type: weight-based-routing
                when: { models: [s] }
                sticky_routing: { ttl_seconds: 60, session_identifiers: [{ source: headers, key: x-session-id }] }
                load_balance_targets: [{ target: a/m, weight: 1 }, { target: b/m, weight: 1 }]
            """);
        var headers = new HeaderDictionary { ["x-session-id"] = "s1" };
        var rule = rules.Routes.Rules[0];
        var key = StickySessions.KeyOf(rule.Rule, headers, new Dictionary<string, string>())!;
        Assert.DoesNotContain("s1", key); // hashed: session ids may be user ids

        await rules.Sticky.BindAsync(key, "b/m", rule.Rule.Sticky!.Ttl);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("b/m", (await rules.PlanAsync("s", headers))[0]);
        }

        // Its target failed: the binding is broken and the weights decide again.
        rules.Sticky.Break(key);
        Assert.Equal(["a/m", "b/m"], [(await rules.PlanAsync("s", headers))[0], (await rules.PlanAsync("s", headers))[0]]);

        // The TTL ends a binding too.
        await rules.Sticky.BindAsync(key, "b/m", rule.Rule.Sticky.Ttl);
        rules.Time.Advance(TimeSpan.FromSeconds(61));
        Assert.Null(await rules.Sticky.GetAsync(key));
    }

    [Fact]
    public async Task A_target_cooling_down_after_retry_after_is_not_chosen_first()
    {
        var rules = new RoutingTestRules("""
            type: gateway-load-balancing-config
            rules:
              - id: p
                type: priority-based-routing
                when: { models: [p] }
                load_balance_targets: [{ target: a/m, priority: 0 }, { target: b/m, priority: 1 }]
            """);
        rules.Health["a/m"].CoolDown(TimeSpan.FromSeconds(30));

        Assert.Equal("b/m", (await rules.PlanAsync("p"))[0]);
        rules.Time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal("a/m", (await rules.PlanAsync("p"))[0]);
    }
}
