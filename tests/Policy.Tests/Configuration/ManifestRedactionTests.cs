using Gateway.Aspire.ServiceDefaults.Configuration;

namespace Gateway.Aspire.Policy.Tests.Configuration;

/// <summary>The masking of secret values in manifests the admin API shows.</summary>
public sealed class ManifestRedactionTests
{
    private const string Manifests = """
        # provider accounts: the key by reference, headers literal
        type: provider-account
        name: corp
        provider: openai-compatible
        base_url: https://svc:p4ss@llm.example.com/v1?api-key=sk-query-secret
        api_key: ${CORP_API_KEY}
        headers:
          X-Api-Key: sk-live-header-secret
          Authorization: "Bearer sk-quoted-secret"
          X-Tenant: ${CORP_TENANT}
          X-Notes: |
            multi-line
            secret
        models: [{ name: chat }]
        ---
        type: gateway-load-balancing-config
        name: routing
        rules:
          - id: route
            type: weight-based-routing
            when: { models: [corp-chat] }
            load_balance_targets:
              - target: corp/chat
                weight: 100
                headers_override: { set: { X-Route-Token: 'rt-secret' }, remove: [X-Debug] }
        ---
        type: gateway-budget-config
        name: budgets
        daily_limit_usd: 10
        notification_target:
          - { type: slack-webhook, url: "https://hooks.slack.com/services/T000/B000/slack-secret" }
          - { type: webhook, url: "${WEBHOOK_URL}" }
          - { type: email, to: [ops@example.com] }
        ---
        type: gateway-alerts-config
        name: slo
        rules:
          - id: health
            error_rate_above_percent: 5
            notification_target: [{ type: webhook, url: "https://alerts.example.com/hook?token=alert-secret" }]
        """;

    [Fact]
    public void Secret_values_are_masked_and_references_names_and_everything_else_stay_as_written()
    {
        var shown = ManifestRedaction.Redact(Manifests);

        foreach (var secret in new[] { "p4ss", "sk-query-secret", "sk-live-header-secret", "sk-quoted-secret", "multi-line", "rt-secret", "slack-secret", "T000", "alert-secret" })
        {
            Assert.DoesNotContain(secret, shown, StringComparison.Ordinal);
        }

        Assert.Contains("base_url: 'https://***@llm.example.com/v1?***'\n", shown, StringComparison.Ordinal);
        Assert.Contains("api_key: ${CORP_API_KEY}\n", shown, StringComparison.Ordinal);
        Assert.Contains("  X-Api-Key: '***'\n", shown, StringComparison.Ordinal);
        Assert.Contains("  Authorization: '***'\n", shown, StringComparison.Ordinal);
        Assert.Contains("  X-Tenant: ${CORP_TENANT}\n", shown, StringComparison.Ordinal);
        Assert.Contains("  X-Notes: '***'\nmodels: [{ name: chat }]\n", shown, StringComparison.Ordinal);
        Assert.Contains("headers_override: { set: { X-Route-Token: '***' }, remove: [X-Debug] }", shown, StringComparison.Ordinal);
        Assert.Contains("url: 'https://hooks.slack.com/***' }", shown, StringComparison.Ordinal);
        Assert.Contains("""url: "${WEBHOOK_URL}" }""", shown, StringComparison.Ordinal);
        Assert.Contains("to: [ops@example.com]", shown, StringComparison.Ordinal);
        Assert.Contains("url: 'https://alerts.example.com/***' }]", shown, StringComparison.Ordinal);
        Assert.StartsWith("# provider accounts: the key by reference, headers literal\n", shown, StringComparison.Ordinal);

        // Still the same manifests, readable by the loaders: only the masked values differ.
        var documents = ManifestDocuments.Parse(shown, "shown");
        Assert.Equal(["provider-account", "gateway-load-balancing-config", "gateway-budget-config", "gateway-alerts-config"], documents.Select(d => d.Type));
        Assert.Equal(Manifests.Split('\n').Length - 2, shown.Split('\n').Length); // the two-line block scalar became one line
    }

    [Fact]
    public void Text_without_secrets_is_returned_unchanged()
    {
        const string yaml = """
            type: provider-account
            name: mock
            provider: openai-compatible
            base_url: http://127.0.0.1:9100/v1
            api_key: ${MOCK_API_KEY}
            models: [{ name: gpt-4o-mini }]
            ---
            type: gateway-budget-config
            name: b
            daily_limit_usd: 1
            notification_target: [{ type: webhook, url: "https://example.com/" }]
            """;

        var result = ManifestRedaction.Apply(yaml);

        Assert.Same(yaml, result.Text);
        Assert.Empty(result.MaskedValues);
    }

    [Fact]
    public void Text_that_is_not_manifests_is_not_shown_at_all()
    {
        var shown = ManifestRedaction.Redact("headers: [unclosed\n  X-Api-Key: sk-secret\n");

        Assert.DoesNotContain("sk-secret", shown, StringComparison.Ordinal);
        Assert.StartsWith("# (not shown", shown, StringComparison.Ordinal);
    }
}
