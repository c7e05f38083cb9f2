using Gateway.Aspire.ServiceDefaults.Configuration;
using YamlDotNet.RepresentationModel;
using static Gateway.Aspire.ServiceDefaults.Configuration.ManifestYaml;

namespace Gateway.Aspire.Policy.Rules;

/// <summary>
/// The <c>when</c> of a rate-limit or budget rule. A call matches when every condition that is set
/// matches (AND); within a list any item may match (OR).
/// </summary>
public sealed record RuleConditions
{
    private static readonly string[] s_subjectPrefixes = ["user:", "team:", "virtualaccount:"];

    /// <summary>Matches every call.</summary>
    public static readonly RuleConditions Any = new();

    /// <summary><c>when.subjects</c>: <c>user:x</c>, <c>team:x</c>, <c>virtualaccount:x</c>. Default: empty (any caller).</summary>
    public IReadOnlyList<string> Subjects { get; init; } = [];

    /// <summary><c>when.models</c>: <c>&lt;account&gt;/&lt;model&gt;</c> ids. Default: empty (any model).</summary>
    public IReadOnlyList<string> Models { get; init; } = [];

    /// <summary><c>when.metadata</c>: every pair must equal the call's metadata. Default: empty (any metadata).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>Whether a call by <paramref name="subjects"/> to <paramref name="model"/> with <paramref name="metadata"/> matches.</summary>
    public bool Matches(IReadOnlyList<string> subjects, string model, IReadOnlyDictionary<string, string> metadata)
    {
        if (Subjects.Count > 0 && !Subjects.Any(subjects.Contains))
        {
            return false;
        }

        if (Models.Count > 0 && !Models.Contains(model, StringComparer.Ordinal))
        {
            return false;
        }

        foreach (var (key, value) in Metadata)
        {
            if (!metadata.TryGetValue(key, out var actual) || !string.Equals(actual, value, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Reads the optional <c>when</c> of <paramref name="rule"/>, strictly; <paramref name="where"/> prefixes errors.</summary>
    public static RuleConditions Read(YamlMappingNode rule, string where)
    {
        if (Child(rule, "when") is not { } whenNode)
        {
            return Any;
        }

        if (whenNode is not YamlMappingNode when)
        {
            throw new ManifestException($"{where}, line {whenNode.Start.Line}: 'when' must be a mapping of subjects, models and metadata.");
        }

        RejectUnknown(when, where + ", when", "subjects", "models", "metadata");
        var subjects = ScalarList(when, "subjects", where + ", when") ?? [];
        foreach (var subject in subjects)
        {
            if (!s_subjectPrefixes.Any(p => subject.StartsWith(p, StringComparison.Ordinal) && subject.Length > p.Length))
            {
                throw new ManifestException($"{where}, when.subjects: '{subject}' must be user:<name>, team:<name> or virtualaccount:<name>.");
            }
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
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

        return new RuleConditions { Subjects = subjects, Models = ScalarList(when, "models", where + ", when") ?? [], Metadata = metadata };
    }
}
