using Gateway.Aspire.ServiceDefaults.Alerts;
using Gateway.Aspire.ServiceDefaults.Configuration;

namespace Gateway.Aspire.Accounting.Tests.Alerts;

/// <summary>The strict reading of gateway-alerts-config documents.</summary>
public sealed class ModelAlertConfigLoaderTests
{
    [Fact]
    public void Parse_ReadsEveryField_WithDefaults_AndIgnoresOtherDocuments()
    {
        var rules = ModelAlertConfigLoader.Parse("""
            type: gateway-budget-config
            daily_limit_usd: 5
            ---
            type: gateway-alerts-config
            name: slo
            rules:
              - id: errors
                models: [openai/gpt-4o]
                error_rate_above_percent: 2.5
                window_minutes: 10
                min_requests: 50
                notification_target: [{ type: email, to: [ops@example.com] }]
              - id: latency
                p95_latency_above_ms: 5000
                notification_target: [{ type: slack-webhook, url: "${SLACK_WEBHOOK_URL}" }]
            """, "gateway.yaml");

        Assert.Equal(["errors", "latency"], rules.Select(r => r.Id));
        Assert.Equal((2.5m, (double?)null, 10, 50), (rules[0].ErrorRateAbovePercent, rules[0].P95LatencyAboveMs, rules[0].WindowMinutes, rules[0].MinRequests));
        Assert.True(rules[0].Watches("openai/gpt-4o"));
        Assert.False(rules[0].Watches("openai/gpt-4o-mini"));
        Assert.Equal("""[{"type":"email","to":["ops@example.com"]}]""", rules[0].TargetsJson);
        Assert.Equal(((decimal?)null, 5000d, 5, 20), (rules[1].ErrorRateAbovePercent, rules[1].P95LatencyAboveMs, rules[1].WindowMinutes, rules[1].MinRequests));
        Assert.True(rules[1].Watches("anything/at-all"));
    }

    [Theory]
    [InlineData("rules: [{ id: a, notification_target: [{ type: webhook, url: 'https://x' }] }]", "set 'error_rate_above_percent', 'p95_latency_above_ms' or both")]
    [InlineData("rules: [{ id: a, error_rate_above_percent: 5 }]", "'notification_target' must be a non-empty list")]
    [InlineData("rules: [{ id: a, error_rate_above_percent: 101, notification_target: [{ type: webhook, url: 'https://x' }] }]", "(got '101')")]
    [InlineData("rules: [{ id: a, error_rate_above_percent: 5, window_minutes: 0.5, notification_target: [{ type: webhook, url: 'https://x' }] }]", "'window_minutes' must be a whole number")]
    [InlineData("rules: [{ id: a, error_rate_above_percent: 5, windows: 5, notification_target: [{ type: webhook, url: 'https://x' }] }]", "unknown field 'windows'")]
    [InlineData("rules: [{ id: a, error_rate_above_percent: 5, notification_target: [{ type: pager }] }]", "unknown type 'pager'")]
    [InlineData("rules: [{ id: a, error_rate_above_percent: 5, notification_target: [{ type: webhook, url: 'ftp://x' }] }]", "absolute http(s) URL")]
    [InlineData("rules: [{ id: a, error_rate_above_percent: 5, notification_target: [{ type: webhook, url: 'https://x' }] }, { id: a, error_rate_above_percent: 5, notification_target: [{ type: webhook, url: 'https://x' }] }]", "rule id 'a' is already used")]
    public void Parse_RejectsInvalidRules_NamingDocumentRuleAndField(string body, string expected)
    {
        var e = Assert.Throws<ManifestException>(() => ModelAlertConfigLoader.Parse("type: gateway-alerts-config\n" + body, "/etc/gateway.yaml"));

        Assert.StartsWith("gateway.yaml, document 1", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
