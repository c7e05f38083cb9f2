using Gateway.Aspire.Guardrails.Rules;
using Gateway.Aspire.ServiceDefaults.Configuration;

namespace Gateway.Aspire.Guardrails.Tests.Rules;

/// <summary>Which rules apply to a call: subjects, model globs, metadata; every matching rule, in order.</summary>
public sealed class GuardrailRuleTests
{
    private static readonly GuardrailRules Rules = GuardrailsConfigLoader.Parse("""
        type: gateway-guardrails-config
        rules:
          - id: everyone
            input: [{ check: pii, action: mask }]
          - id: web-team
            when: { subjects: ["team:web", "virtualaccount:web-app"] }
            input: [{ check: prompt_injection, action: block }]
          - id: openai-models
            when: { models: ["openai/*", "*-mini"] }
            input: [{ check: moderation, action: flag }]
          - id: prod-finance
            when: { metadata: { environment: prod, desk: finance }, models: ["*"] }
            input: [{ check: deny_list, action: block, name: no_insider_trading }]
        """, "gateway.yaml");

    private static IEnumerable<string> Matching(string[] subjects, string model, Dictionary<string, string>? metadata = null) =>
        Rules.Matching(subjects, model, metadata ?? []).Select(rule => rule.Id);

    [Fact]
    public void EveryMatchingRuleApplies_InFileOrder() =>
        Assert.Equal(["everyone", "web-team", "openai-models"], Matching(["virtualaccount:web-app"], "openai/gpt-4o"));

    [Fact]
    public void Subjects_MatchAnyOfTheCallersSubjects()
    {
        Assert.Contains("web-team", Matching(["virtualaccount:x", "team:web"], "mock/m"));
        Assert.DoesNotContain("web-team", Matching(["virtualaccount:x", "team:mobile"], "mock/m"));
        Assert.DoesNotContain("web-team", Matching([], "mock/m"));
    }

    [Fact]
    public void Models_MatchGlobs()
    {
        Assert.Contains("openai-models", Matching([], "openai/gpt-4o"));
        Assert.Contains("openai-models", Matching([], "mock/gpt-4o-mini"));
        Assert.DoesNotContain("openai-models", Matching([], "anthropic/claude-sonnet"));
        Assert.DoesNotContain("openai-models", Matching([], "openai")); // "openai/*" needs the slash
    }

    [Fact]
    public void Metadata_MustMatchEveryPair()
    {
        Assert.Contains("prod-finance", Matching([], "m", new() { ["environment"] = "prod", ["desk"] = "finance", ["extra"] = "x" }));
        Assert.DoesNotContain("prod-finance", Matching([], "m", new() { ["environment"] = "prod" }));
        Assert.DoesNotContain("prod-finance", Matching([], "m", new() { ["environment"] = "Prod", ["desk"] = "finance" }));
    }

    [Theory]
    [InlineData("*", "anything/at-all", true)]
    [InlineData("*", "", true)]
    [InlineData("openai/*", "openai/gpt-4o", true)]
    [InlineData("openai/*", "azure/gpt-4o", false)]
    [InlineData("*/gpt-4o*", "azure/gpt-4o-2024-08-06", true)]
    [InlineData("*/gpt-4o*", "azure/gpt-4", false)]
    [InlineData("a*b*c", "aXbYbZc", true)]
    [InlineData("a*b*c", "aXbYbZ", false)]
    [InlineData("mock/gpt-4o", "mock/gpt-4o", true)]
    [InlineData("mock/gpt-4o", "mock/gpt-4o-mini", false)]
    [InlineData("Mock/*", "mock/x", false)]
    public void ModelGlob_MatchesStarAsAnyRun(string pattern, string model, bool expected) =>
        Assert.Equal(expected, ModelGlob.IsMatch(pattern, model));

    [Fact]
    public void ModelGlob_ManyStarsOnALongMiss_StaysLinearish()
    {
        // The two-pointer match retries from the last star only: no exponential blow-up.
        Assert.False(ModelGlob.IsMatch("*a*a*a*a*a*a*a*a*b", new string('a', 20_000)));
    }

    [Fact]
    public void LiveRules_ReplaceSwapsTheSnapshot_ForLaterCallsOnly()
    {
        var live = new LiveConfig<GuardrailRules>(GuardrailRules.None);
        var before = live.Current;

        live.Replace(Rules, 7);

        Assert.Empty(before.Rules);
        Assert.Same(Rules, live.Current);
        Assert.Equal(7, live.Version);
    }
}
