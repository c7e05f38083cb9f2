using Gateway.Aspire.Policy.Budgets;
using Gateway.Aspire.ServiceDefaults.Configuration;

namespace Gateway.Aspire.Policy.Tests.Budgets;

/// <summary>The strict reading of gateway-budget-config documents (TrueFoundry's fields, plus mode and the global daily limit).</summary>
public sealed class BudgetConfigLoaderTests
{
    private const string RateLimits = """
        type: gateway-rate-limiting-config
        rules: [{ id: rpm, limit_to: 5, unit: requests_per_minute }]
        ---

        """;

    private static ManifestException Invalid(string yaml) =>
        Assert.Throws<ManifestException>(() => BudgetConfigLoader.Parse(RateLimits + yaml, "/etc/gw/gateway.yaml"));

    [Fact]
    public void Parse_ReadsEveryField_InOrder_AndIgnoresOtherDocuments()
    {
        var budgets = BudgetConfigLoader.Parse(RateLimits + """
            name: budgets
            type: gateway-budget-config
            daily_limit_usd: 500
            warning_threshold_percent: 80
            rules:
              - id: team-monthly
                when:
                  subjects: ["team:engineering"]
                  models: [mock/gpt-4o-mini]
                  metadata: { environment: prod }
                limit_to: 5000.50
                unit: cost_per_month
                budget_applies_per: [virtualaccount, metadata.project]
                alerts:
                  thresholds: [75, 90, 100]
                  notification_target:
                    - type: email
                      to_emails: [lead@example.com]
                    - type: webhook
                      url: https://hooks.example.com/budget
                    - type: slack-webhook
                      url: ${SLACK_WEBHOOK_URL}
                    - { type: email, to: [a@example.com, b@example.com] }
              - id: audit-weekly
                limit_to: 0.25
                unit: cost_per_week
                audit_mode: true
              - id: soft-daily
                limit_to: 10
                unit: cost_per_day
                mode: soft
            """, "gateway.yaml");

        Assert.Equal(["team-monthly", "audit-weekly", "soft-daily"], budgets.Rules.Select(r => r.Id));
        var team = budgets.Rules[0];
        Assert.Equal(["team:engineering"], team.When.Subjects);
        Assert.Equal(["mock/gpt-4o-mini"], team.When.Models);
        Assert.Equal("prod", team.When.Metadata["environment"]);
        Assert.Equal(5000.50m, team.LimitUsd);
        Assert.Equal(5_000_500_000_000, team.LimitNanoUsd);
        Assert.Same(BudgetPeriod.Month, team.Period);
        Assert.Equal(["virtualaccount", "metadata.project"], team.AppliesPer);
        Assert.True(team.Hard);
        Assert.Equal([75, 90, 100], team.Alerts!.Thresholds);
        Assert.Equal(
            [("email", null, "lead@example.com"), ("webhook", "https://hooks.example.com/budget", ""), ("slack-webhook", "${SLACK_WEBHOOK_URL}", ""),
                ("email", null, "a@example.com,b@example.com")],
            team.Alerts.Targets.Select(t => (t.Type, t.Url, string.Join(",", t.To))));
        Assert.Equal(
            """[{"type":"email","to":["lead@example.com"]},{"type":"webhook","url":"https://hooks.example.com/budget"},"""
                + """{"type":"slack-webhook","url":"${SLACK_WEBHOOK_URL}"},{"type":"email","to":["a@example.com","b@example.com"]}]""",
            team.Alerts.TargetsJson);
        Assert.Contains("rule 'team-monthly'", team.Source, StringComparison.Ordinal);

        Assert.Same(BudgetPeriod.Week, budgets.Rules[1].Period);
        Assert.False(budgets.Rules[1].Hard);
        Assert.False(budgets.Rules[2].Hard);
        Assert.Null(budgets.Rules[2].Alerts);

        var global = budgets.GlobalDaily!;
        Assert.Equal(BudgetRules.GlobalDailyId, global.Id);
        Assert.Equal(500m, global.LimitUsd);
        Assert.Same(BudgetPeriod.Day, global.Period);
        Assert.True(global.Hard);
        Assert.Equal([80, 100], global.Alerts!.Thresholds);
        Assert.Empty(global.Alerts.Targets);
    }

    [Fact]
    public void Parse_AcceptsTheGlobalDailyLimitAlone_AndNoDocumentsAtAll()
    {
        var budgets = BudgetConfigLoader.Parse("type: gateway-budget-config\ndaily_limit_usd: 0.5\n", "gateway.yaml");

        Assert.Empty(budgets.Rules);
        Assert.Equal(0.5m, budgets.GlobalDaily!.LimitUsd);
        Assert.Null(budgets.GlobalDaily.Alerts);
        Assert.False(BudgetConfigLoader.Parse(RateLimits, "gateway.yaml").Any);
    }

    [Theory]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_day, per: [user] }]", "unknown field 'per'")]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_year }]", "unknown unit 'cost_per_year'. Known: cost_per_day, cost_per_week, cost_per_month")]
    [InlineData("rules: [{ id: a, limit_to: -1, unit: cost_per_day }]", "'limit_to' must be an amount of USD above 0")]
    [InlineData("rules: [{ id: a, limit_to: 0, unit: cost_per_day }]", "'limit_to' must be an amount of USD above 0")]
    [InlineData("rules: [{ id: a, limit_to: 9000001, unit: cost_per_day }]", "at most 9000000")]
    [InlineData("rules: [{ id: a, limit_to: ten, unit: cost_per_day }]", "(got 'ten')")]
    [InlineData("rules: [{ id: a, unit: cost_per_day }]", "missing required field 'limit_to'")]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_day, mode: strict }]", "'mode' must be hard or soft (got 'strict')")]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_day, mode: soft, audit_mode: true }]", "set 'mode' or 'audit_mode', not both")]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_day, audit_mode: maybe }]", "'audit_mode' must be true or false")]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_day, budget_applies_per: [user, team, model] }]", "'budget_applies_per' takes at most 2 entries")]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_day, budget_applies_per: [tenant] }]", "unknown budget_applies_per entry 'tenant'")]
    [InlineData("rules: [{ id: '{user}-daily', limit_to: 1, unit: cost_per_day }]", "use budget_applies_per for per-user")]
    [InlineData("rules: [{ id: daily_limit_usd, limit_to: 1, unit: cost_per_day }]", "reserved for the global daily limit")]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_day }, { id: a, limit_to: 2, unit: cost_per_day }]", "rule id 'a' is already used")]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_day, alerts: { thresholds: [90, 75] } }]", "distinct percentages in ascending order")]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_day, alerts: { thresholds: [0] } }]", "whole percentages from 1 to 100 (got '0')")]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_day, alerts: { thresholds: [101] } }]", "(got '101')")]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_day, alerts: { notification_target: [] } }]", "missing required field 'thresholds'")]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_day, alerts: { thresholds: [50], notification_target: [{ type: pager, url: x }] } }]", "unknown type 'pager'")]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_day, alerts: { thresholds: [50], notification_target: [{ type: slack-bot, channels: [x] }] } }]", "use a slack-webhook with its url")]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_day, alerts: { thresholds: [50], notification_target: [{ type: email }] } }]", "missing required field 'to'")]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_day, alerts: { thresholds: [50], notification_target: [{ type: email, to: [nobody] }] } }]", "'to' must be e-mail addresses (got 'nobody')")]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_day, alerts: { thresholds: [50], notification_target: [{ type: email, to: [a@b.c], to_emails: [a@b.c] }] } }]", "set 'to' or 'to_emails', not both")]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_day, alerts: { thresholds: [50], notification_target: [{ type: slack-webhook, url: 'https://x', to: [a@b.c] }] } }]", "unknown field 'to'")]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_day, alerts: { thresholds: [50], notification_target: [{ type: webhook }] } }]", "missing required field 'url'")]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_day, alerts: { thresholds: [50], notification_target: [{ type: webhook, url: 'ftp://x/y' }] } }]", "absolute http(s) URL or a whole ${ENV_VAR} reference (got 'ftp://x/y')")]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_day, alerts: { thresholds: [50], notification_target: [{ type: webhook, url: '${A}/${B}' }] } }]", "absolute http(s) URL")]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_day, alerts: { thresholds: [50], notification_target: [{ type: webhook, url: 'https://x/${bad name}' }] } }]", "absolute http(s) URL")]
    [InlineData("rules: [{ id: a, limit_to: 1, unit: cost_per_day, alerts: { thresholds: [50], notification_target: { type: webhook } } }]", "'notification_target' must be a list of targets")]
    [InlineData("notification_target: [{ type: webhook, url: 'https://x' }]\nrules: []", "need 'daily_limit_usd'")]
    [InlineData("warning_threshold_percent: 80\nrules: []", "'warning_threshold_percent' and 'notification_target' need 'daily_limit_usd'")]
    [InlineData("daily_limit_usd: 10\nwarning_threshold_percent: 120", "(got '120')")]
    [InlineData("daily_limit_usd: lots", "'daily_limit_usd' must be an amount of USD")]
    [InlineData("budgets: []", "unknown field 'budgets'")]
    [InlineData("name: x", "'rules' must be a list of rules (or set 'daily_limit_usd')")]
    public void Parse_RejectsInvalidDocuments_NamingFileDocumentRuleAndField(string body, string expected)
    {
        var e = Invalid("type: gateway-budget-config\n" + body);

        Assert.StartsWith("gateway.yaml, document 2", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_RejectsASecondGlobalDailyLimit_NamingBothDocuments()
    {
        var e = Invalid("type: gateway-budget-config\ndaily_limit_usd: 10\n---\ntype: gateway-budget-config\ndaily_limit_usd: 20\n");

        Assert.Contains("document 3", e.Message, StringComparison.Ordinal);
        Assert.Contains("already set by gateway.yaml, document 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Periods_StartAtUtcMidnight_OnMonday_AndOnTheFirst()
    {
        var wednesday = new DateTimeOffset(2030, 1, 9, 15, 30, 0, TimeSpan.FromHours(-8)); // 23:30 UTC
        Assert.Equal((Utc(2030, 1, 9), Utc(2030, 1, 10)), BudgetPeriod.Day.Containing(wednesday));
        Assert.Equal((Utc(2030, 1, 7), Utc(2030, 1, 14)), BudgetPeriod.Week.Containing(wednesday));
        Assert.Equal((Utc(2030, 1, 1), Utc(2030, 2, 1)), BudgetPeriod.Month.Containing(wednesday));
        // Sunday still belongs to the week that began on Monday; a week may span a year end.
        Assert.Equal((Utc(2030, 12, 30), Utc(2031, 1, 6)), BudgetPeriod.Week.Containing(Utc(2031, 1, 5).AddTicks(-1).AddDays(1)));
        Assert.Equal((Utc(2030, 12, 1), Utc(2031, 1, 1)), BudgetPeriod.Month.Containing(Utc(2031, 1, 1).AddTicks(-1)));

        static DateTimeOffset Utc(int year, int month, int day) => new(year, month, day, 0, 0, 0, TimeSpan.Zero);
    }
}
