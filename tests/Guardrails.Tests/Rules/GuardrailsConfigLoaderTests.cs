using Gateway.Aspire.Guardrails.Moderation;
using Gateway.Aspire.Guardrails.Pii;
using Gateway.Aspire.Guardrails.Rules;
using Gateway.Aspire.ServiceDefaults.Configuration;

namespace Gateway.Aspire.Guardrails.Tests.Rules;

/// <summary>The strict reading of gateway-guardrails-config documents.</summary>
public sealed class GuardrailsConfigLoaderTests
{
    private const string Account = """
        type: provider-account
        name: mock
        provider: openai-compatible
        base_url: http://127.0.0.1:9100/v1
        models: [{ name: gpt-4o-mini }]
        ---

        """;

    /// <summary>The contract, verbatim.</summary>
    internal const string Contract = """
        type: gateway-guardrails-config
        name: default
        rules:
          - id: pii
            when: { models: ["*"] }            # optional; subjects / models / metadata as elsewhere
            input:
              - { check: pii, action: mask }   # optional types: [email, phone, credit_card, iban,
                                               #   us_ssn, aba_routing, ip_address, secret]; default all
            output:
              - { check: pii, action: mask, restore: true }
          - id: safety
            input:
              - { check: moderation, action: block, categories: [hate, violence, self-harm] }
              - { check: prompt_injection, action: block, threshold: 0.8 }
              - { check: deny_list, action: block, name: no_financial_advice, patterns: ["(?i)\\bbuy\\b.*\\bstock"] }
            on_error: fail_closed
        """;

    private static ManifestException Invalid(string rules) =>
        Assert.Throws<ManifestException>(() => GuardrailsConfigLoader.Parse(Account + "type: gateway-guardrails-config\nname: g\nrules:\n" + rules, "/etc/gw/gateway.yaml"));

    [Fact]
    public void Parse_ReadsTheContract_AndIgnoresOtherDocuments()
    {
        var rules = GuardrailsConfigLoader.Parse(Account + Contract, "gateway.yaml").Rules;

        Assert.Equal(["pii", "safety"], rules.Select(r => r.Id));
        var pii = rules[0];
        Assert.Equal(["*"], pii.Models);
        Assert.Equal(CheckKind.Pii, Assert.Single(pii.Input).Kind);
        Assert.Equal(GuardrailAction.Mask, pii.Input[0].Action);
        Assert.Null(pii.Input[0].PiiTypes);
        Assert.True(Assert.Single(pii.Output).Restore);
        Assert.Equal(OnErrorMode.FailClosed, pii.OnError); // masks fail closed by default

        var safety = rules[1];
        Assert.Empty(safety.Output);
        Assert.Equal([CheckKind.Moderation, CheckKind.PromptInjection, CheckKind.DenyList], safety.Input.Select(c => c.Kind));
        Assert.Equal([ModerationCategory.Hate, ModerationCategory.Violence, ModerationCategory.SelfHarm], safety.Input[0].Categories);
        Assert.Equal(0.8, safety.Input[1].Threshold);
        Assert.Equal("no_financial_advice", safety.Input[2].Name);
        Assert.NotNull(safety.Input[2].DenyList);
        Assert.Equal(OnErrorMode.FailClosed, safety.OnError);
    }

    [Fact]
    public void Parse_ReadsWhen_Types_PerCategoryThresholds_KeywordsAndAllow()
    {
        var rules = GuardrailsConfigLoader.Parse(Account + """
            type: gateway-guardrails-config
            rules:
              - id: r
                when:
                  subjects: ["team:web", "virtualaccount:ci"]
                  models: ["mock/*"]
                  metadata: { environment: prod }
                input:
                  - { check: pii, action: block, types: [credit_card, us_ssn] }
                  - { check: moderation, action: flag, threshold: { hate: 0.3, violence: 0.9 } }
                  - { check: deny_list, action: flag, name: codenames, keywords: [Project Falcon, "c++"], allow: ["(?i)falcon heavy"] }
            """, "gateway.yaml").Rules;

        var rule = Assert.Single(rules);
        Assert.Equal(["team:web", "virtualaccount:ci"], rule.Subjects);
        Assert.Equal("prod", rule.Metadata["environment"]);
        Assert.Equal([PiiType.CreditCard, PiiType.UsSsn], rule.Input[0].PiiTypes);
        Assert.Equal(0.3, rule.Input[1].CategoryThresholds[ModerationCategory.Hate]);
        Assert.Equal(0.9, rule.Input[1].CategoryThresholds[ModerationCategory.Violence]);
        Assert.Equal("codenames", rule.Input[2].Name);
        Assert.Equal(OnErrorMode.FailClosed, rule.OnError); // a block check
    }

    [Fact]
    public void Moderation_ReadsItsModelAndTimeout_WithATwoSecondDefault()
    {
        var rules = GuardrailsConfigLoader.Parse("""
            type: gateway-guardrails-config
            rules:
              - id: m
                input:
                  - { check: moderation, action: block, model: openai/omni-moderation-latest, timeout_ms: 750 }
                  - { check: moderation, action: flag, model: openai/omni-moderation-latest }
                  - { check: moderation, action: flag }
            """, "g.yaml");

        var checks = Assert.Single(rules.Rules).Input;
        Assert.Equal(("openai/omni-moderation-latest", TimeSpan.FromMilliseconds(750)), (checks[0].ModerationModel, checks[0].ModerationTimeout));
        Assert.Equal(TimeSpan.FromSeconds(2), checks[1].ModerationTimeout);
        Assert.Null(checks[2].ModerationModel);
    }

    [Fact]
    public void OnError_DefaultsToFailOpen_WhenTheRuleOnlyFlags()
    {
        var rules = GuardrailsConfigLoader.Parse("type: gateway-guardrails-config\nrules:\n  - id: watch\n    input: [{ check: prompt_injection, action: flag }]\n", "g.yaml");

        Assert.Equal(OnErrorMode.FailOpen, Assert.Single(rules.Rules).OnError);
    }

    [Fact]
    public void UnknownCheckField_NamesFileDocumentRuleCheckAndField()
    {
        var e = Invalid("  - id: safety\n    input:\n      - { check: moderation, action: block, treshold: 0.5 }\n");

        Assert.Contains("gateway.yaml, document 2 (gateway-guardrails-config 'g'), rules[0] (rule 'safety'), input[0] (check 'moderation')", e.Message);
        Assert.Contains("unknown field 'treshold'", e.Message);
    }

    [Theory]
    [InlineData("{ check: toxicity, action: block }", "unknown check 'toxicity'")]
    [InlineData("{ check: pii, action: redact }", "unknown action 'redact'")]
    [InlineData("{ check: pii }", "missing required field 'action'")]
    [InlineData("{ check: moderation, action: mask }", "'mask' applies only to check 'pii'")]
    [InlineData("{ check: pii, action: mask, types: [email, passport] }", "unknown pii type 'passport'")]
    [InlineData("{ check: pii, action: mask, restore: true }", "'restore: true' only applies")]
    [InlineData("{ check: pii, action: mask, threshold: 0.5 }", "'threshold' does not apply to check 'pii'")]
    [InlineData("{ check: moderation, action: block, categories: [hate, rudeness] }", "unknown moderation category 'rudeness'")]
    [InlineData("{ check: moderation, action: block, threshold: 1.5 }", "'threshold' must be a number from 0 to 1 (got '1.5')")]
    [InlineData("{ check: moderation, action: block, threshold: { hate: high } }", "'threshold.hate' must be a number from 0 to 1")]
    [InlineData("{ check: prompt_injection, action: block, threshold: abc }", "'threshold' must be a number")]
    [InlineData("{ check: deny_list, action: block }", "a deny_list needs 'patterns', 'keywords' or the 'name' of a built-in topic policy")]
    [InlineData("{ check: deny_list, action: block, name: no_gossip }", "'no_gossip' is not a built-in topic policy")]
    [InlineData("{ check: deny_list, action: block, patterns: [\"(unclosed\"] }", "invalid regular expression in 'patterns': \"(unclosed\"")]
    [InlineData("{ check: deny_list, action: block, patterns: [\"secret(?=s)\"] }", "\"secret(?=s)\": it uses a construct that cannot run in linear time")]
    [InlineData("{ check: deny_list, action: block, patterns: [x], allow: [\"[z-a]\"] }", "invalid regular expression in 'allow': \"[z-a]\"")]
    [InlineData("{ check: moderation, action: block, model: omni }", "'model' must be a catalog model '<account>/<model>'")]
    [InlineData("{ check: moderation, action: block, timeout_ms: 100 }", "'timeout_ms' applies only with 'model'")]
    [InlineData("{ check: moderation, action: block, model: openai/omni, timeout_ms: 0 }", "'timeout_ms' must be a whole number of milliseconds from 1 to 60000")]
    [InlineData("{ check: pii, action: mask, model: openai/omni }", "'model' does not apply to check 'pii'")]
    public void InvalidCheck_IsRejectedWithTheReason(string check, string reason)
    {
        var e = Invalid($"  - id: r\n    input:\n      - {check}\n");

        Assert.Contains("rules[0] (rule 'r'), input[0]", e.Message);
        Assert.Contains(reason, e.Message);
    }

    [Theory]
    [InlineData("  - id: r\n    when: { subjects: [alice] }\n    input: [{ check: pii, action: mask }]\n", "'alice' must be user:<name>, team:<name> or virtualaccount:<name>")]
    [InlineData("  - id: r\n    when: { model: [x] }\n    input: [{ check: pii, action: mask }]\n", "unknown field 'model'")]
    [InlineData("  - id: r\n    on_error: retry\n    input: [{ check: pii, action: mask }]\n", "unknown on_error 'retry'")]
    [InlineData("  - id: r\n", "a rule needs at least one check")]
    [InlineData("  - id: r\n    input: { check: pii, action: mask }\n", "'input' must be a list of checks")]
    [InlineData("  - id: r\n    input: [{ check: pii, action: mask }]\n  - id: r\n    output: [{ check: pii, action: mask }]\n", "rule id 'r' is already used by")]
    [InlineData("  - input: [{ check: pii, action: mask }]\n", "missing required field 'id'")]
    public void InvalidRule_IsRejectedWithTheReason(string rules, string reason)
    {
        var e = Invalid(rules);

        Assert.Contains("gateway.yaml, document 2", e.Message);
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void Load_ReadsTheFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"guardrails-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, Contract);
        try
        {
            Assert.Equal(2, GuardrailsConfigLoader.Load(path).Rules.Count);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
