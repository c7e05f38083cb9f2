using Gateway.Aspire.Policy.RateLimiting;
using Gateway.Aspire.ServiceDefaults.Configuration;

namespace Gateway.Aspire.Policy.Tests.RateLimiting;

/// <summary>The strict reading of gateway-rate-limiting-config documents.</summary>
public sealed class RateLimitConfigLoaderTests
{
    private const string Account = """
        type: provider-account
        name: mock
        provider: openai-compatible
        base_url: http://127.0.0.1:9100/v1
        models: [{ name: gpt-4o-mini }]
        ---

        """;

    private static ManifestException Invalid(string yaml) =>
        Assert.Throws<ManifestException>(() => RateLimitConfigLoader.Parse(Account + yaml, "/etc/gw/gateway.yaml"));

    [Fact]
    public void Parse_ReadsEveryFieldInOrder_AndIgnoresTheRoutersDocuments()
    {
        var rules = RateLimitConfigLoader.Parse(Account + """
            name: limits
            type: gateway-rate-limiting-config
            rules:
              - id: ci-fast
                when:
                  subjects: ["virtualaccount:ci", "team:web"]
                  models: [mock/gpt-4o-mini]
                  metadata: { environment: prod }
                limit_to: 50
                unit: requests_per_minute
                rate_limit_applies_per: [model, metadata.project]
              - id: everyone
                limit_to: 100000
                unit: tokens_per_day
            """, "gateway.yaml");

        Assert.Equal(["ci-fast", "everyone"], rules.Rules.Select(r => r.Id));
        var first = rules.Rules[0];
        Assert.Equal(["virtualaccount:ci", "team:web"], first.When.Subjects);
        Assert.Equal(["mock/gpt-4o-mini"], first.When.Models);
        Assert.Equal("prod", first.When.Metadata["environment"]);
        Assert.Equal(50, first.LimitTo);
        Assert.Equal(RateLimitKind.Requests, first.Unit.Kind);
        Assert.Equal(TimeSpan.FromMinutes(1), first.Unit.Window);
        Assert.Equal(["model", "metadata.project"], first.AppliesPer);
        Assert.Equal(RateLimitKind.Tokens, rules.Rules[1].Unit.Kind);
        Assert.Equal(TimeSpan.FromDays(1), rules.Rules[1].Unit.Window);
    }

    [Fact]
    public void UnknownRuleField_NamesFileDocumentRuleAndField()
    {
        var e = Invalid("""
            type: gateway-rate-limiting-config
            name: limits
            rules:
              - id: r1
                limit_to: 5
                unit: requests_per_minute
                limit_too: 6
            """);

        Assert.Contains("gateway.yaml, document 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("rule 'r1'", e.Message, StringComparison.Ordinal);
        Assert.Contains("unknown field 'limit_too'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("unit: requests_per_week", "unknown unit 'requests_per_week'")]
    [InlineData("unit: requests_per_minute\n    limit_to_extra: 1", "unknown field 'limit_to_extra'")]
    [InlineData("unit: requests_per_minute\n    rate_limit_applies_per: [user, model, team]", "at most 2 entries")]
    [InlineData("unit: requests_per_minute\n    rate_limit_applies_per: [project]", "unknown rate_limit_applies_per entry 'project'")]
    [InlineData("unit: requests_per_minute\n    when: { subjects: [ci] }", "'ci' must be user:<name>, team:<name> or virtualaccount:<name>")]
    [InlineData("unit: requests_per_minute\n    when: { model: [a/b] }", "unknown field 'model'")]
    public void InvalidRule_IsRejectedWithTheProblem(string tail, string expected)
    {
        var e = Invalid($"""
            type: gateway-rate-limiting-config
            rules:
              - id: r1
                limit_to: 5
                {tail}
            """);

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("document 2", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("limit_to: 0", "'limit_to' must be a positive integer")]
    [InlineData("limit_to: lots", "'limit_to' must be a positive integer")]
    [InlineData("unit: requests_per_minute", "missing required field 'limit_to'")]
    public void BadOrMissingLimit_IsRejected(string field, string expected)
    {
        var unit = field.StartsWith("unit", StringComparison.Ordinal) ? "" : "unit: requests_per_minute";
        var e = Invalid($"""
            type: gateway-rate-limiting-config
            rules:
              - id: r1
                {field}
                {unit}
            """);

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateRuleIds_AcrossDocuments_AreRejected()
    {
        var e = Invalid("""
            type: gateway-rate-limiting-config
            rules: [{ id: same, limit_to: 1, unit: requests_per_minute }]
            ---
            type: gateway-rate-limiting-config
            rules: [{ id: same, limit_to: 2, unit: requests_per_hour }]
            """);

        Assert.Contains("rule id 'same' is already used", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownDocumentField_IsRejected()
    {
        var e = Invalid("""
            type: gateway-rate-limiting-config
            name: limits
            rule: []
            """);

        Assert.Contains("unknown field 'rule'", e.Message, StringComparison.Ordinal);
    }
}
