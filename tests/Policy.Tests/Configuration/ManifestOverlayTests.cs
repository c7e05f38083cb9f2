using Gateway.Aspire.ServiceDefaults.Configuration;

namespace Gateway.Aspire.Policy.Tests.Configuration;

/// <summary>The effective configuration: documents' own texts, overlay by type and name, and the body of an apply.</summary>
public sealed class ManifestOverlayTests
{
    private const string File = """
        # the file
        type: provider-account
        name: a
        models: [{ name: m }]
        ---
        type: gateway-rate-limiting-config
        name: limits
        rules:
          - id: r
            when: { models: [a/m] }
            limit_to: 5
        ...
        ---
        type: gateway-budget-config
        daily_limit_usd: 5

        """;

    [Fact]
    public void A_document_keeps_its_own_text_from_its_first_line_to_its_end()
    {
        var documents = ManifestDocuments.Parse(File, "gateway.yaml");

        Assert.Equal("type: provider-account\nname: a\nmodels: [{ name: m }]\n", documents[0].Text);
        Assert.Equal("type: gateway-rate-limiting-config\nname: limits\nrules:\n  - id: r\n    when: { models: [a/m] }\n    limit_to: 5\n", documents[1].Text);
        Assert.Equal("type: gateway-budget-config\ndaily_limit_usd: 5\n", documents[2].Text);
        Assert.Equal(documents.Select(d => d.Text), ManifestDocuments.Parse(ManifestOverlay.ToYaml(documents), "live").Select(d => d.Text));
    }

    [Fact]
    public void A_later_layer_replaces_the_same_type_and_name_in_place_and_appends_new_ones()
    {
        var effective = ManifestOverlay.Build(
        [
            new ManifestLayer("gateway.yaml", File),
            new ManifestLayer("request body", "type: gateway-rate-limiting-config\nname: limits\nrules: []\n---\ntype: provider-account\nname: b\n"),
        ]);

        Assert.Equal(["provider-account/a", "gateway-rate-limiting-config/limits", "gateway-budget-config/", "provider-account/b"],
            effective.Select(d => $"{d.Type}/{d.Name}"));
        Assert.Equal("request body, document 1", effective[1].Where);
        Assert.Equal("gateway.yaml, document 3", effective[2].Where);
    }

    [Theory]
    [InlineData("type: [unclosed\nname: x\n", "request body: invalid YAML")]
    [InlineData("", "no YAML documents")]
    [InlineData("- a\n- b\n", "a document must be a mapping")]
    [InlineData("type: gateway-teapot-config\nname: x\n", "request body, document 1: unknown type 'gateway-teapot-config'")]
    [InlineData("name: x\n", "missing required field 'type'")]
    [InlineData("type: gateway-budget-config\ndaily_limit_usd: 5\n", "request body, document 1 (gateway-budget-config) (line 1): missing required field 'name'")]
    [InlineData("type: provider-account\nname: x\n---\ntype: provider-account\nname: x\n", "request body, document 2 (provider-account 'x'): document 1 has the same type and name")]
    public void An_apply_body_needs_named_documents_of_known_types(string yaml, string expected)
    {
        var error = Assert.Throws<ManifestException>(() => ManifestOverlay.ParseApply(yaml));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
