using Gateway.Aspire.Policy.Configuration;
using Gateway.Aspire.ServiceDefaults.Configuration;

namespace Gateway.Aspire.Policy.Tests.Configuration;

/// <summary>The human-readable difference between two effective configurations.</summary>
public sealed class ConfigDiffTests
{
    private static IReadOnlyList<ManifestDocument> Parse(string yaml, string origin) => ManifestDocuments.Parse(yaml, origin);

    [Fact]
    public void Changed_lines_are_marked_with_context_and_documents_are_matched_by_type_and_name()
    {
        var before = Parse("""
            type: gateway-rate-limiting-config
            name: limits
            rules:
              - id: one
                limit_to: 5
                unit: requests_per_minute
              - id: two
                limit_to: 9
                unit: requests_per_minute
                rate_limit_applies_per: [user]
            ---
            type: gateway-budget-config
            name: gone
            daily_limit_usd: 1
            """, "gateway.yaml");
        var after = Parse("""
            type: gateway-rate-limiting-config
            name: limits
            rules:
              - id: one
                limit_to: 50
                unit: requests_per_minute
              - id: two
                limit_to: 9
                unit: requests_per_minute
                rate_limit_applies_per: [user]
            ---
            type: gateway-budget-config
            name: new
            daily_limit_usd: 2
            """, "request body");

        var diff = ConfigDiff.Between(before, after, new HashSet<string>());

        Assert.True(diff.Changed);
        Assert.Equal(["gateway-rate-limiting-config/limits changed", "gateway-budget-config/new added", "gateway-budget-config/gone removed"],
            diff.Documents.Select(d => $"{d.Type}/{d.Name} {d.Change}"));
        Assert.Equal("""
            ~ gateway-rate-limiting-config 'limits' (changed, was gateway.yaml, document 1, now request body, document 1)
                ...
                rules:
                  - id: one
              -     limit_to: 5
              +     limit_to: 50
                    unit: requests_per_minute
                  - id: two
                ...
            + gateway-budget-config 'new' (added, request body, document 2)
              + type: gateway-budget-config
              + name: new
              + daily_limit_usd: 2
            - gateway-budget-config 'gone' (removed, was gateway.yaml, document 2)
              - type: gateway-budget-config
              - name: gone
              - daily_limit_usd: 1

            """.ReplaceLineEndings("\n"), diff.Text);
    }

    [Fact]
    public void The_same_documents_are_no_change_and_touched_ones_are_listed_unchanged()
    {
        var documents = Parse("type: gateway-budget-config\nname: b\ndaily_limit_usd: 1\n", "gateway.yaml");

        var diff = ConfigDiff.Between(documents, Parse("type: gateway-budget-config\nname: b\ndaily_limit_usd: 1\n", "request body"),
            new HashSet<string> { "gateway-budget-config/b" });

        Assert.False(diff.Changed);
        Assert.Equal("unchanged", Assert.Single(diff.Documents).Change);
        Assert.StartsWith("No changes", diff.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Secret_values_are_masked_and_a_change_of_one_is_stated_without_showing_it()
    {
        static string Account(string key, int weight) =>
            $"type: provider-account\nname: corp\nprovider: openai\napi_key: ${{CORP_KEY}}\nheaders:\n  X-Api-Key: {key}\nmodels: [{{ name: m{weight} }}]\n";
        var before = Parse(Account("sk-old-value", 1), "gateway.yaml");

        var onlySecret = ConfigDiff.Between(before, Parse(Account("sk-new-value", 1), "request body"), new HashSet<string>());
        var both = ConfigDiff.Between(before, Parse(Account("sk-new-value", 2), "request body"), new HashSet<string>());
        var added = ConfigDiff.Between([], before, new HashSet<string>());

        Assert.Equal("changed", Assert.Single(onlySecret.Documents).Change);
        Assert.Equal("""
            ~ provider-account 'corp' (changed, was gateway.yaml, document 1, now request body, document 1)
              ! secret values (***) changed; neither is shown

            """.ReplaceLineEndings("\n"), onlySecret.Text);
        Assert.Equal("""
            ~ provider-account 'corp' (changed, was gateway.yaml, document 1, now request body, document 1)
                ...
                headers:
                  X-Api-Key: '***'
              - models: [{ name: m1 }]
              + models: [{ name: m2 }]
              ! secret values (***) changed; neither is shown

            """.ReplaceLineEndings("\n"), both.Text);
        Assert.Contains("  +   X-Api-Key: '***'\n", added.Text, StringComparison.Ordinal);
        Assert.Contains("  + api_key: ${CORP_KEY}\n", added.Text, StringComparison.Ordinal);
        Assert.All(new[] { onlySecret, both, added }, d => Assert.DoesNotContain("-value", d.Text, StringComparison.Ordinal));
    }
}
