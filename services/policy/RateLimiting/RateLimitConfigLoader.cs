using System.Globalization;
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

    /// <summary>At most this many <c>rate_limit_applies_per</c> entries (the issue's contract).</summary>
    public const int MaxAppliesPer = 2;

    private static readonly string[] s_subjectPrefixes = ["user:", "team:", "virtualaccount:"];
    private static readonly string[] s_appliesPer = ["user", "team", "model", "virtualaccount"];

    /// <summary>Loads the rules of <paramref name="path"/>.</summary>
    public static RateLimitRules Load(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>Parses configuration text; <paramref name="path"/> is only used in messages.</summary>
    public static RateLimitRules Parse(string text, string path)
    {
        var rules = new List<RateLimitRule>();
        foreach (var document in ManifestDocuments.Parse(text, path))
        {
            if (document.Type != DocumentType)
            {
                continue;
            }

            var root = document.Root;
            var where = Scalar(root, "name", document.Where) is { } name ? $"{document.Where} ({DocumentType} '{name}')" : document.Where;
            RejectUnknown(root, where, "type", "name", "rules");
            if (Child(root, "rules") is not YamlSequenceNode ruleNodes)
            {
                throw new ManifestException($"{where} (line {root.Start.Line}): 'rules' must be a list of rules.");
            }

            foreach (var node in ruleNodes.Children)
            {
                var rule = ReadRule(node, $"{where}, rules[{ruleNodes.Children.IndexOf(node)}]");
                if (rules.FirstOrDefault(r => r.Id == rule.Id) is { } earlier)
                {
                    throw new ManifestException($"{rule.Source}: rule id '{rule.Id}' is already used by {earlier.Source}; ids must be unique.");
                }

                rules.Add(rule);
            }
        }

        return new RateLimitRules(rules);
    }

    private static RateLimitRule ReadRule(YamlNode node, string where)
    {
        if (node is not YamlMappingNode map)
        {
            throw new ManifestException($"{where}, line {node.Start.Line}: a rule must be a mapping with an 'id'.");
        }

        var id = Scalar(map, "id", where) ?? throw Missing(map, where, "id");
        if (id.Length == 0 || id.Contains('{') || id.Any(char.IsWhiteSpace))
        {
            throw new ManifestException(
                $"{where}: 'id' must be non-empty without spaces or '{{...}}' placeholders (got '{id}'); use rate_limit_applies_per for per-user or per-model counters.");
        }

        where = $"{where} (rule '{id}')";
        RejectUnknown(map, where, "id", "when", "limit_to", "unit", "rate_limit_applies_per");

        IReadOnlyList<string> subjects = [], models = [];
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Child(map, "when") is { } whenNode)
        {
            if (whenNode is not YamlMappingNode when)
            {
                throw new ManifestException($"{where}, line {whenNode.Start.Line}: 'when' must be a mapping of subjects, models and metadata.");
            }

            RejectUnknown(when, where + ", when", "subjects", "models", "metadata");
            subjects = ScalarList(when, "subjects", where + ", when") ?? [];
            foreach (var subject in subjects)
            {
                if (!s_subjectPrefixes.Any(p => subject.StartsWith(p, StringComparison.Ordinal) && subject.Length > p.Length))
                {
                    throw new ManifestException($"{where}, when.subjects: '{subject}' must be user:<name>, team:<name> or virtualaccount:<name>.");
                }
            }

            models = ScalarList(when, "models", where + ", when") ?? [];
            if (Child(when, "metadata") is { } metadataNode)
            {
                if (metadataNode is not YamlMappingNode metadataMap)
                {
                    throw new ManifestException($"{where}, line {metadataNode.Start.Line}: 'when.metadata' must be a mapping of key to value.");
                }

                foreach (var (key, value) in metadataMap.Children)
                {
                    var metadataKey = (key as YamlScalarNode)?.Value ?? "";
                    metadata[metadataKey] = value is YamlScalarNode { Value: { } text }
                        ? text
                        : throw new ManifestException($"{where}, line {value.Start.Line}: when.metadata.{metadataKey} must be a single value.");
                }
            }
        }

        var limitText = Scalar(map, "limit_to", where) ?? throw Missing(map, where, "limit_to");
        if (!long.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) || limit <= 0)
        {
            throw new ManifestException($"{where}: 'limit_to' must be a positive integer (got '{limitText}').");
        }

        var unitText = Scalar(map, "unit", where) ?? throw Missing(map, where, "unit");
        var unit = RateLimitUnit.All.FirstOrDefault(u => u.Name == unitText)
            ?? throw new ManifestException($"{where}: unknown unit '{unitText}'. Known: {string.Join(", ", RateLimitUnit.All.Select(u => u.Name))}.");

        var appliesPer = ScalarList(map, "rate_limit_applies_per", where) ?? [];
        if (appliesPer.Count > MaxAppliesPer)
        {
            throw new ManifestException($"{where}: 'rate_limit_applies_per' takes at most {MaxAppliesPer} entries (got {appliesPer.Count}).");
        }

        foreach (var entry in appliesPer)
        {
            var valid = s_appliesPer.Contains(entry) || (entry.StartsWith("metadata.", StringComparison.Ordinal) && entry.Length > "metadata.".Length);
            if (!valid)
            {
                throw new ManifestException(
                    $"{where}: unknown rate_limit_applies_per entry '{entry}'. Known: {string.Join(", ", s_appliesPer)}, metadata.<key>.");
            }
        }

        if (appliesPer.Distinct(StringComparer.Ordinal).Count() != appliesPer.Count)
        {
            throw new ManifestException($"{where}: 'rate_limit_applies_per' names an entry twice.");
        }

        return new RateLimitRule
        {
            Id = id,
            Subjects = subjects,
            Models = models,
            Metadata = metadata,
            LimitTo = limit,
            Unit = unit,
            AppliesPer = appliesPer,
            Source = where,
        };
    }
}
