using Gateway.Aspire.Router.Configuration;
using Gateway.Aspire.Router.Routing;

namespace Gateway.Aspire.Router.Tests.Routing;

public sealed class LoadBalancingConfigLoaderTests
{
    private const string Accounts = """
        type: provider-account
        name: a
        provider: openai-compatible
        base_url: http://127.0.0.1:9100/v1
        models: [{ name: m1 }, { name: m2 }]
        ---
        type: provider-account
        name: b
        provider: openai-compatible
        base_url: http://127.0.0.1:9100/v1
        models: [{ name: m1 }]
        ---
        """;

    private static GatewayConfig Parse(string rules) => GatewayConfigLoader.Parse(Accounts + "\n" + rules, "gateway.yaml", _ => null);

    private static string Invalid(string rules) => Assert.Throws<GatewayConfigException>(() => Parse(rules)).Message;

    [Fact]
    public void Full_rule_loads_with_every_field_and_truefoundry_defaults()
    {
        var config = Parse("""
            type: gateway-load-balancing-config
            name: routing
            rules:
              - id: smart
                type: priority-based-routing
                when:
                  subjects: [virtualaccount:ci]
                  models: [smart-chat]
                  metadata: { env: prod }
                sticky_routing:
                  ttl_seconds: 600
                  session_identifiers: [{ source: headers, key: x-session-id }, { source: metadata, key: user }]
                cache: { ttl_seconds: 120 }
                load_balance_targets:
                  - target: a/m1
                    priority: 0
                    sla_cutoff: { time_per_output_token_ms: 40 }
                    fallback_status_codes: ["429", 500]
                    retry_config: { attempts: 1, delay: 50, on_status_codes: [503] }
                    headers_override: { set: { x-mock-status: "500" }, remove: [x-extra] }
                    timeout: { connect: 2s, total: 30s, stream_idle: 5s }
                  - target: b/m1
                    priority: 1
                    fallback_candidate: false
                    timeout: 10s
            """);

        var rule = Assert.Single(config.LoadBalancingRules);
        Assert.Equal(("smart", RoutingStrategy.Priority), (rule.Id, rule.Strategy));
        Assert.Equal(["virtualaccount:ci"], rule.Subjects);
        Assert.Equal(["smart-chat"], rule.Models);
        Assert.Equal("prod", rule.Metadata["env"]);
        Assert.Equal(TimeSpan.FromMinutes(10), rule.Sticky!.Ttl);
        Assert.Equal([new SessionIdentifier("headers", "x-session-id"), new SessionIdentifier("metadata", "user")], rule.Sticky.SessionIdentifiers);
        Assert.Equal(TimeSpan.FromMinutes(2), rule.Cache!.Ttl);
        var first = rule.Targets[0];
        Assert.Equal(40, first.SlaCutoffTpotMs);
        Assert.Equal([429, 500], first.FallbackStatusCodes);
        Assert.Equal((1, TimeSpan.FromMilliseconds(50)), (first.Retry.Attempts, first.Retry.Delay));
        Assert.Equal([503], first.Retry.OnStatusCodes);
        Assert.Equal("500", first.HeadersOverride!.Set["x-mock-status"]);
        Assert.Equal(["x-extra"], first.HeadersOverride.Remove);
        Assert.Equal(new TargetTimeouts(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(5)), first.Timeouts);
        var second = rule.Targets[1];
        Assert.False(second.FallbackCandidate);
        Assert.Equal([401, 403, 404, 429, 500, 502, 503], second.FallbackStatusCodes);
        Assert.Equal((2, TimeSpan.FromMilliseconds(100)), (second.Retry.Attempts, second.Retry.Delay));
        Assert.Equal([429, 500, 502, 503], second.Retry.OnStatusCodes);
        Assert.Equal(TimeSpan.FromSeconds(10), second.Timeouts.Total);
    }

    [Fact]
    public void Task_default_adds_its_model_to_the_rule()
    {
        var rule = Assert.Single(Parse("""
            type: gateway-load-balancing-config
            rules:
              - id: reflect
                type: weight-based-routing
                when: { metadata: { task: self_reflection } }
                default_model: reflection
                load_balance_targets: [{ target: a/m2, weight: 1 }]
            """).LoadBalancingRules);

        Assert.Equal("reflection", rule.DefaultModel);
        Assert.Equal(["reflection"], rule.Models);
        Assert.Null(rule.Cache);
    }

    [Theory]
    [InlineData("type: round-robin\n    load_balance_targets: [{ target: a/m1, weight: 1 }]", "unknown type 'round-robin'")]
    [InlineData("type: weight-based-routing\n    load_balance_targets: [{ target: a/m3, weight: 1 }]", "target 'a/m3' is not a model of any provider-account")]
    [InlineData("type: weight-based-routing\n    load_balance_targets: [{ target: a/m1 }]", "needs a 'weight' on every target")]
    [InlineData("type: weight-based-routing\n    load_balance_targets: [{ target: a/m1, weight: 0 }]", "at least one target needs a weight above 0")]
    [InlineData("type: latency-based-routing\n    load_balance_targets: [{ target: a/m1, wieght: 1 }]", "unknown field 'wieght'")]
    [InlineData("type: latency-based-routing\n    load_balance_targets: [{ target: a/m1, fallback_status_codes: [200] }]", "'200', which is not an HTTP error status")]
    [InlineData("type: latency-based-routing\n    load_balance_targets: [{ target: a/m1 }, { target: a/m1 }]", "target 'a/m1' is listed twice")]
    [InlineData("type: latency-based-routing\n    default_model: x\n    load_balance_targets: [{ target: a/m1 }]", "'default_model' needs 'when.metadata'")]
    [InlineData("type: latency-based-routing\n    when: { subjects: [bob] }\n    load_balance_targets: [{ target: a/m1 }]", "'bob' must be user:<name>")]
    [InlineData("type: latency-based-routing\n    sticky_routing: { ttl_seconds: 5 }\n    load_balance_targets: [{ target: a/m1 }]", "'session_identifiers' must be a non-empty list")]
    [InlineData("type: latency-based-routing\n    load_balance_targets: [{ target: a/m1, headers_override: { set: { Host: x } } }]", "'Host' cannot be overridden")]
    [InlineData("type: latency-based-routing\n    cache: { ttl: 60 }\n    load_balance_targets: [{ target: a/m1 }]", "unknown field 'ttl'")]
    public void Invalid_rules_fail_naming_the_rule_and_field(string body, string expected)
    {
        var message = Invalid($"""
            type: gateway-load-balancing-config
            name: lb
            rules:
              - id: r1
                {body}
            """);

        Assert.Contains(expected, message);
        Assert.Contains("gateway.yaml, document 3", message);
    }

    [Fact]
    public void Rule_ids_are_unique_across_documents()
    {
        var message = Invalid("""
            type: gateway-load-balancing-config
            rules: [{ id: r1, type: latency-based-routing, load_balance_targets: [{ target: a/m1 }] }]
            ---
            type: gateway-load-balancing-config
            rules: [{ id: r1, type: latency-based-routing, load_balance_targets: [{ target: b/m1 }] }]
            """);

        Assert.Contains("rule id 'r1' is already used", message);
    }

    [Fact]
    public void Route_table_matches_first_rule_and_misses_plain_models_without_rules()
    {
        var config = Parse("""
            type: gateway-load-balancing-config
            rules:
              - id: ci-only
                type: latency-based-routing
                when: { subjects: [virtualaccount:ci], models: [smart] }
                load_balance_targets: [{ target: b/m1 }]
              - id: everyone
                type: latency-based-routing
                when: { models: [smart, a/m2] }
                load_balance_targets: [{ target: a/m1 }]
              - id: reflect
                type: latency-based-routing
                when: { metadata: { task: self_reflection } }
                default_model: reflection
                load_balance_targets: [{ target: a/m2 }]
            """);
        var routes = new RouteTable(new ModelCatalog(config, _ => null, DateTimeOffset.UnixEpoch));
        var none = new Dictionary<string, string>();

        Assert.Equal("ci-only", routes.Match("smart", Caller("ci"), none)?.Rule.Id);
        Assert.Equal("everyone", routes.Match("smart", Caller("other"), none)?.Rule.Id);
        Assert.Equal("everyone", routes.Match("a/m2", Caller("other"), none)?.Rule.Id);
        Assert.Null(routes.Match("a/m1", Caller("ci"), none));
        Assert.Null(routes.Match("reflection", Caller("ci"), none));
        Assert.Equal("reflect", routes.Match("reflection", Caller("ci"), new Dictionary<string, string> { ["task"] = "self_reflection" })?.Rule.Id);
        Assert.Equal("reflection", routes.DefaultModelFor(new Dictionary<string, string> { ["task"] = "self_reflection" }));
        Assert.Null(routes.DefaultModelFor(none));
        Assert.Equal(["smart", "reflection"], routes.VirtualModels);
    }

    private static Gateway.Aspire.Policy.Grpc.Identity Caller(string tokenName) => new() { TokenName = tokenName };

    [Fact]
    public void Rules_MatchPersonalTokens_ByUserAndTeam()
    {
        var config = Parse("""
            type: gateway-load-balancing-config
            rules:
              - id: research
                type: latency-based-routing
                when: { models: [smart], subjects: ["team:research"] }
                load_balance_targets: [{ target: a/m1 }]
              - id: alice
                type: latency-based-routing
                when: { models: [smart], subjects: ["user:alice"] }
                load_balance_targets: [{ target: a/m2 }]
            """);
        var routes = new RouteTable(new ModelCatalog(config, _ => null, DateTimeOffset.UnixEpoch));
        var none = new Dictionary<string, string>();
        var researcher = new Gateway.Aspire.Policy.Grpc.Identity { TokenName = "t", Kind = "personal", User = "bob", Teams = { "design", "research" } };
        var alice = new Gateway.Aspire.Policy.Grpc.Identity { TokenName = "t", Kind = "personal", User = "alice" };
        var stranger = new Gateway.Aspire.Policy.Grpc.Identity { TokenName = "research", Kind = "personal", User = "carol" };
        Assert.Equal("research", routes.Match("smart", researcher, none)?.Rule.Id);
        Assert.Equal("alice", routes.Match("smart", alice, none)?.Rule.Id);
        Assert.Null(routes.Match("smart", stranger, none));
    }

    [Fact]
    public void VirtualModel_TargetModels_AreEveryTargetOfEveryRuleForIt_ForPricingBeforeTheCallerIsKnown()
    {
        var config = Parse("""
            type: gateway-load-balancing-config
            rules:
              - id: ci-only
                type: latency-based-routing
                when: { subjects: [virtualaccount:ci], models: [smart] }
                load_balance_targets: [{ target: b/m1 }]
              - id: everyone
                type: latency-based-routing
                when: { models: [smart] }
                load_balance_targets: [{ target: a/m1 }, { target: a/m2 }]
            """);
        var routes = new RouteTable(new ModelCatalog(config, _ => null, DateTimeOffset.UnixEpoch));

        Assert.Equal(["a/m1", "a/m2", "b/m1"], routes.TargetModelsOf("smart").Select(m => m.Id).Distinct().Order());
        Assert.Empty(routes.TargetModelsOf("a/m1"));
    }
}
