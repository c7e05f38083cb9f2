using System.Globalization;
using Gateway.Aspire.Policy.Rules;
using Gateway.Aspire.ServiceDefaults.Billing;
using Gateway.Aspire.ServiceDefaults.Configuration;
using YamlDotNet.RepresentationModel;
using static Gateway.Aspire.ServiceDefaults.Configuration.ManifestYaml;

namespace Gateway.Aspire.Policy.Budgets;

/// <summary>
/// Reads the <c>gateway-budget-config</c> documents of <c>gateway.yaml</c>. Strict like
/// <see cref="RateLimiting.RateLimitConfigLoader"/>: an unknown field, unit, mode or entry fails the
/// start with the file, document, rule and field.
/// </summary>
/// <remarks>
/// TrueFoundry's format (<c>rules[]</c> of <c>id</c>, <c>when</c>, <c>limit_to</c> in USD, <c>unit</c>
/// <c>cost_per_day|week|month</c>, <c>budget_applies_per</c>, <c>alerts.{thresholds,notification_target}</c>,
/// <c>audit_mode</c>), plus <c>mode: hard | soft</c> (the same switch by name: <c>audit_mode: true</c> is
/// <c>soft</c>; a rule sets one or the other) and the global shorthand at the top of a document:
/// <c>daily_limit_usd</c> (a hard budget over every model call, per UTC day) with an optional
/// <c>warning_threshold_percent</c> and <c>notification_target</c> (it alerts at the warning and at
/// 100 %); only one document may set it. Targets: <c>webhook</c> and <c>slack-webhook</c> with a
/// <c>url</c>, <c>email</c> with <c>to</c> (or TrueFoundry's <c>to_emails</c>). Rule ids are literal and unique
/// across documents, as for rate limits.
/// </remarks>
public static partial class BudgetConfigLoader
{
    private static readonly System.Text.RegularExpressions.Regex s_envReference = EnvReference();

    /// <summary>The document type this loader owns.</summary>
    public const string DocumentType = "gateway-budget-config";

    /// <summary>Loads the budgets of <paramref name="path"/>.</summary>
    public static BudgetRules Load(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>Parses configuration text; <paramref name="path"/> is only used in messages.</summary>
    public static BudgetRules Parse(string text, string path) => Parse(ManifestDocuments.Parse(text, path));

    /// <summary>Reads documents already split (e.g. the effective configuration of an apply, each document keeping its own label).</summary>
    public static BudgetRules Parse(IEnumerable<ManifestDocument> documents)
    {
        var rules = new List<BudgetRule>();
        BudgetRule? global = null;
        foreach (var (root, where) in RuleDocuments.OfType(documents, DocumentType))
        {
            RejectUnknown(root, where, "type", "name", "rules", "daily_limit_usd", "warning_threshold_percent", "notification_target");
            if (ReadGlobal(root, where) is { } daily)
            {
                global = global is null
                    ? daily
                    : throw new ManifestException($"{where}: 'daily_limit_usd' is already set by {global.Source}; set it once.");
            }

            var ruleNodes = Child(root, "rules");
            if (ruleNodes is null && global?.Source == where)
            {
                continue;
            }

            if (ruleNodes is not YamlSequenceNode sequence)
            {
                throw new ManifestException($"{where} (line {root.Start.Line}): 'rules' must be a list of rules (or set 'daily_limit_usd').");
            }

            RuleDocuments.AddRules(sequence, where, rules, ReadRule, r => r.Id, r => r.Source);
        }

        return new BudgetRules(rules, global);
    }

    private static BudgetRule? ReadGlobal(YamlMappingNode root, string where)
    {
        var warningText = Scalar(root, "warning_threshold_percent", where);
        if (Scalar(root, "daily_limit_usd", where) is not { } limitText)
        {
            return warningText is null && Child(root, "notification_target") is null
                ? null
                : throw new ManifestException($"{where}: 'warning_threshold_percent' and 'notification_target' need 'daily_limit_usd'.");
        }

        // The warning and the stop (100 %) are the global limit's two thresholds; both go to its targets.
        var warning = warningText is null ? (int?)null : ReadPercent(warningText, where, "warning_threshold_percent");
        var targets = ReadTargets(root, where);
        int[] thresholds = warning is null or 100 ? [100] : [warning.Value, 100];
        return new BudgetRule
        {
            Id = BudgetRules.GlobalDailyId,
            LimitUsd = ReadUsd(limitText, where, "daily_limit_usd"),
            Period = BudgetPeriod.Day,
            Alerts = warning is null && targets.Count == 0 ? null : new BudgetAlerts(thresholds, targets),
            Source = where,
        };
    }

    private static BudgetRule ReadRule(YamlNode node, string where)
    {
        if (node is not YamlMappingNode map)
        {
            throw new ManifestException($"{where}, line {node.Start.Line}: a rule must be a mapping with an 'id'.");
        }

        var id = RuleIds.Read(map, where, "budget_applies_per");
        if (id == BudgetRules.GlobalDailyId)
        {
            throw new ManifestException($"{where}: the id '{id}' is reserved for the global daily limit; choose another.");
        }

        where = $"{where} (rule '{id}')";
        RejectUnknown(map, where, "id", "when", "limit_to", "unit", "budget_applies_per", "mode", "audit_mode", "alerts");
        var when = RuleConditions.Read(map, where);
        var limit = ReadUsd(Scalar(map, "limit_to", where) ?? throw Missing(map, where, "limit_to"), where, "limit_to");
        var unitText = Scalar(map, "unit", where) ?? throw Missing(map, where, "unit");
        var period = BudgetPeriod.All.FirstOrDefault(p => p.Name == unitText)
            ?? throw new ManifestException($"{where}: unknown unit '{unitText}'. Known: {string.Join(", ", BudgetPeriod.All.Select(p => p.Name))}.");

        return new BudgetRule
        {
            Id = id,
            When = when,
            LimitUsd = limit,
            Period = period,
            AppliesPer = RuleScope.Read(map, "budget_applies_per", where),
            Hard = ReadHard(map, where),
            Alerts = ReadAlerts(map, where),
            Source = where,
        };
    }

    private static bool ReadHard(YamlMappingNode map, string where)
    {
        var mode = Scalar(map, "mode", where);
        var audit = Scalar(map, "audit_mode", where);
        if (mode is not null && audit is not null)
        {
            throw new ManifestException($"{where}: set 'mode' or 'audit_mode', not both ('audit_mode: true' is 'mode: soft').");
        }

        return (mode, audit) switch
        {
            ("hard", _) or (null, null or "false") => true,
            ("soft", _) or (null, "true") => false,
            (not null, _) => throw new ManifestException($"{where}: 'mode' must be hard or soft (got '{mode}')."),
            _ => throw new ManifestException($"{where}: 'audit_mode' must be true or false (got '{audit}')."),
        };
    }

    private static BudgetAlerts? ReadAlerts(YamlMappingNode map, string where)
    {
        if (Child(map, "alerts") is not { } node)
        {
            return null;
        }

        where += ", alerts";
        if (node is not YamlMappingNode alerts)
        {
            throw new ManifestException($"{where} (line {node.Start.Line}): 'alerts' must be a mapping with 'thresholds' and 'notification_target'.");
        }

        RejectUnknown(alerts, where, "thresholds", "notification_target");
        var thresholds = (ScalarList(alerts, "thresholds", where) ?? throw Missing(alerts, where, "thresholds"))
            .Select(t => ReadPercent(t, where, "thresholds")).ToArray();
        if (thresholds.Length == 0 || thresholds.Distinct().Count() != thresholds.Length || !thresholds.SequenceEqual(thresholds.Order()))
        {
            throw new ManifestException($"{where}: 'thresholds' must be distinct percentages in ascending order, e.g. [75, 90, 100].");
        }

        var targets = ReadTargets(alerts, where);
        return new BudgetAlerts(thresholds, targets);
    }

    private static IReadOnlyList<NotificationTarget> ReadTargets(YamlMappingNode map, string where)
    {
        if (Child(map, "notification_target") is not { } node)
        {
            return [];
        }

        if (node is not YamlSequenceNode list)
        {
            throw new ManifestException($"{where}, line {node.Start.Line}: 'notification_target' must be a list of targets.");
        }

        return [.. list.Children.Select((item, i) => ReadTarget(item, $"{where}, notification_target[{i}]"))];
    }

    private static NotificationTarget ReadTarget(YamlNode node, string where)
    {
        if (node is not YamlMappingNode map)
        {
            throw new ManifestException($"{where}, line {node.Start.Line}: a target must be a mapping with a 'type'.");
        }

        var type = Scalar(map, "type", where) ?? throw Missing(map, where, "type");
        if (!NotificationTarget.Types.Contains(type))
        {
            throw new ManifestException($"{where}: unknown type '{type}'. Known: {string.Join(", ", NotificationTarget.Types)}"
                + (type == "slack-bot" ? " (Slack bots are not supported: use a slack-webhook with its url)." : "."));
        }

        // Each type takes exactly its own fields, so a recipient list on a webhook is an error, not silence.
        if (type != "email")
        {
            RejectUnknown(map, where, "type", "url");
            return new NotificationTarget(type, ReadUrl(Scalar(map, "url", where) ?? throw Missing(map, where, "url"), where), []);
        }

        // TrueFoundry writes the recipients as to_emails: accepted as another name for to.
        RejectUnknown(map, where, "type", "to", "to_emails");
        if (Child(map, "to") is not null && Child(map, "to_emails") is not null)
        {
            throw new ManifestException($"{where}: set 'to' or 'to_emails', not both.");
        }

        var to = ScalarList(map, "to", where) ?? ScalarList(map, "to_emails", where);
        if (to is not { Count: > 0 })
        {
            throw Missing(map, where, "to");
        }

        foreach (var address in to)
        {
            if (!System.Net.Mail.MailAddress.TryCreate(address, out var parsed) || parsed.Address != address)
            {
                throw new ManifestException($"{where}: 'to' must be e-mail addresses (got '{address}').");
            }
        }

        return new NotificationTarget(type, null, to);
    }

    // A webhook URL often embeds a secret (Slack's do): ${ENV} references keep it out of the file and
    // the config store; accounting resolves them from its environment when it delivers. Either the
    // whole value is one reference, or the URL with its references filled in is absolute http(s).
    private static string ReadUrl(string text, string where)
    {
        var filled = s_envReference.Replace(text, "x");
        var valid = s_envReference.Match(text) is { Success: true, Index: 0 } whole && whole.Length == text.Length
            || (!text.StartsWith("${", StringComparison.Ordinal) && !filled.Contains("${", StringComparison.Ordinal)
                && Uri.TryCreate(filled, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps));
        return valid
            ? text
            : throw new ManifestException($"{where}: 'url' must be an absolute http(s) URL or a whole ${{ENV_VAR}} reference (got '{text}').");
    }

    private static decimal ReadUsd(string text, string where, string field) =>
        decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var usd) && usd > 0 && usd <= NanoUsd.MaxExactUsd
            ? usd
            : throw new ManifestException($"{where}: '{field}' must be an amount of USD above 0 and at most {NanoUsd.MaxExactUsd:0} (got '{text}').");

    private static int ReadPercent(string text, string where, string field) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var percent) && percent is >= 1 and <= 100
            ? percent
            : throw new ManifestException($"{where}: '{field}' must be whole percentages from 1 to 100 (got '{text}').");

    [System.Text.RegularExpressions.GeneratedRegex(@"\$\{[A-Za-z_][A-Za-z0-9_]*\}")]
    private static partial System.Text.RegularExpressions.Regex EnvReference();
}
