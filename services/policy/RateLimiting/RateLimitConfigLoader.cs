using System.Globalization;
using Gateway.Aspire.Policy.Rules;
using Gateway.Aspire.ServiceDefaults.Configuration;
using YamlDotNet.RepresentationModel;
using static Gateway.Aspire.ServiceDefaults.Configuration.ManifestYaml;

namespace Gateway.Aspire.Policy.RateLimiting;

/// <summary>
/// Reads the <c>gateway-rate-limiting-config</c> documents of <c>gateway.yaml</c> (the file the
/// router reads; other types there belong to the router, which validates them). Strict: an unknown
/// field, unit or <c>applies_per</c> value fails the start with the file, document, rule and field.
/// </summary>
/// <remarks>
/// The format is TrueFoundry's (<c>name</c>, <c>type</c>, <c>rules[]</c> of <c>id</c>,
/// <c>when.{subjects,models,metadata}</c>, <c>limit_to</c>, <c>unit</c>,
/// <c>rate_limit_applies_per</c>; first matching rule wins), so files move over unchanged. Where we
/// differ: metadata comes from the <c>x-gateway-metadata</c> header (TrueFoundry: <c>X-TFY-METADATA</c>);
/// rule ids are literal (TrueFoundry's older <c>{user}</c>/<c>{model}</c> id placeholders are rejected —
/// use <c>rate_limit_applies_per</c>, which TrueFoundry also recommends); virtual accounts are written
/// <c>virtualaccount:&lt;name&gt;</c>; rule ids must be unique across documents because they key the counters.
/// </remarks>
public static class RateLimitConfigLoader
{
    /// <summary>The document type this loader owns.</summary>
    public const string DocumentType = "gateway-rate-limiting-config";

    /// <summary>Loads the rules of <paramref name="path"/>.</summary>
    public static RateLimitRules Load(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>Parses configuration text; <paramref name="path"/> is only used in messages.</summary>
    public static RateLimitRules Parse(string text, string path) => Parse(ManifestDocuments.Parse(text, path));

    /// <summary>Reads documents already split (e.g. the effective configuration of an apply, each document keeping its own label).</summary>
    public static RateLimitRules Parse(IEnumerable<ManifestDocument> documents)
    {
        var rules = new List<RateLimitRule>();
        foreach (var (root, where) in RuleDocuments.OfType(documents, DocumentType))
        {
            RejectUnknown(root, where, "type", "name", "rules");
            if (Child(root, "rules") is not YamlSequenceNode ruleNodes)
            {
                throw new ManifestException($"{where} (line {root.Start.Line}): 'rules' must be a list of rules.");
            }

            RuleDocuments.AddRules(ruleNodes, where, rules, ReadRule, r => r.Id, r => r.Source);
        }

        return new RateLimitRules(rules);
    }

    private static RateLimitRule ReadRule(YamlNode node, string where)
    {
        if (node is not YamlMappingNode map)
        {
            throw new ManifestException($"{where}, line {node.Start.Line}: a rule must be a mapping with an 'id'.");
        }

        var id = RuleIds.Read(map, where, "rate_limit_applies_per");
        where = $"{where} (rule '{id}')";
        RejectUnknown(map, where, "id", "when", "limit_to", "unit", "rate_limit_applies_per");
        var when = RuleConditions.Read(map, where);

        var limitText = Scalar(map, "limit_to", where) ?? throw Missing(map, where, "limit_to");
        if (!long.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) || limit <= 0)
        {
            throw new ManifestException($"{where}: 'limit_to' must be a positive integer (got '{limitText}').");
        }

        var unitText = Scalar(map, "unit", where) ?? throw Missing(map, where, "unit");
        var unit = RateLimitUnit.All.FirstOrDefault(u => u.Name == unitText)
            ?? throw new ManifestException($"{where}: unknown unit '{unitText}'. Known: {string.Join(", ", RateLimitUnit.All.Select(u => u.Name))}.");

        var appliesPer = RuleScope.Read(map, "rate_limit_applies_per", where);
        return new RateLimitRule
        {
            Id = id,
            When = when,
            LimitTo = limit,
            Unit = unit,
            AppliesPer = appliesPer,
            Source = where,
        };
    }
}
