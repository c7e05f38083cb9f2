using YamlDotNet.RepresentationModel;
using static Gateway.Aspire.ServiceDefaults.Configuration.ManifestYaml;

namespace Gateway.Aspire.ServiceDefaults.Configuration;

/// <summary>
/// What the router must know of a <c>gateway-guardrails-config</c> rule without the guardrails
/// service: whom it applies to (<c>when</c>), whether it checks the request and/or the answer, and
/// what its <c>on_error</c> says when it cannot run. The guardrails service reads the same documents
/// strictly (every check, pattern and field); this reader takes only these fields and trusts that
/// validation, so the two cannot disagree on scope: both match with <see cref="WhenMatches"/>.
/// </summary>
public sealed record GuardrailRuleScope
{
    /// <summary>The document type both readers own.</summary>
    public const string DocumentType = "gateway-guardrails-config";

    /// <summary>The rule's <c>id</c>.</summary>
    public required string Id { get; init; }

    /// <summary><c>when.subjects</c>. Default: empty (any caller).</summary>
    public IReadOnlyList<string> Subjects { get; init; } = [];

    /// <summary><c>when.models</c> (<see cref="ModelGlob"/> patterns). Default: empty (any model).</summary>
    public IReadOnlyList<string> Models { get; init; } = [];

    /// <summary><c>when.metadata</c>. Default: empty (any metadata).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>The rule has <c>input</c> checks. Default false.</summary>
    public bool HasInput { get; init; }

    /// <summary>The rule has <c>output</c> checks. Default false.</summary>
    public bool HasOutput { get; init; }

    /// <summary>
    /// <c>on_error: fail_open</c>: a call may go on unchecked when the rule cannot run. Default (no
    /// <c>on_error</c>): fail open only when every check of the rule merely flags (see <see cref="DefaultFailsOpen"/>).
    /// </summary>
    public bool FailOpen { get; init; }

    /// <summary>Whether the rule applies to a call by <paramref name="subjects"/> to <paramref name="model"/> with <paramref name="metadata"/>.</summary>
    public bool Matches(IReadOnlyCollection<string> subjects, string model, IReadOnlyDictionary<string, string> metadata) =>
        WhenMatches(Subjects, Models, Metadata, subjects, model, metadata);

    /// <summary>
    /// The <c>when</c> semantics of guardrails rules: every condition that is set must hold (AND);
    /// within a list any item may match (OR); metadata pairs must all be equal (ordinal).
    /// </summary>
    public static bool WhenMatches(
        IReadOnlyList<string> ruleSubjects,
        IReadOnlyList<string> ruleModels,
        IReadOnlyDictionary<string, string> ruleMetadata,
        IReadOnlyCollection<string> subjects,
        string model,
        IReadOnlyDictionary<string, string> metadata)
    {
        if (ruleSubjects.Count > 0 && !ruleSubjects.Any(subjects.Contains))
        {
            return false;
        }

        if (ruleModels.Count > 0 && !ruleModels.Any(pattern => ModelGlob.IsMatch(pattern, model)))
        {
            return false;
        }

        foreach (var (key, value) in ruleMetadata)
        {
            if (!metadata.TryGetValue(key, out var actual) || !string.Equals(actual, value, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The default of <c>on_error</c>: fail open only when every action is <c>flag</c>. A rule that
    /// blocks or masks fails closed, since skipping a mask sends exactly the data it exists to hide.
    /// </summary>
    public static bool DefaultFailsOpen(IEnumerable<string> actions) => actions.All(action => action == "flag");

    /// <summary>The scope of every rule in <paramref name="documents"/> (other document types are skipped), in file order.</summary>
    public static IReadOnlyList<GuardrailRuleScope> Read(IEnumerable<ManifestDocument> documents)
    {
        var scopes = new List<GuardrailRuleScope>();
        foreach (var document in documents.Where(d => d.Type == DocumentType))
        {
            if (Child(document.Root, "rules") is not YamlSequenceNode rules)
            {
                continue;
            }

            foreach (var node in rules.Children.OfType<YamlMappingNode>())
            {
                scopes.Add(ReadRule(node, document.Where));
            }
        }

        return scopes;
    }

    private static GuardrailRuleScope ReadRule(YamlMappingNode rule, string where)
    {
        var when = Child(rule, "when") as YamlMappingNode;
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (when is not null && Child(when, "metadata") is YamlMappingNode pairs)
        {
            foreach (var (key, value) in pairs.Children)
            {
                if (key is YamlScalarNode { Value: { } name } && value is YamlScalarNode { Value: { } text })
                {
                    metadata[name] = text;
                }
            }
        }

        var input = Actions(rule, "input");
        var output = Actions(rule, "output");
        return new GuardrailRuleScope
        {
            Id = Scalar(rule, "id", where) ?? "",
            Subjects = when is null ? [] : ScalarList(when, "subjects", where) ?? [],
            Models = when is null ? [] : ScalarList(when, "models", where) ?? [],
            Metadata = metadata,
            HasInput = input.Count > 0,
            HasOutput = output.Count > 0,
            FailOpen = Scalar(rule, "on_error", where) switch
            {
                "fail_open" => true,
                "fail_closed" => false,
                _ => DefaultFailsOpen(input.Concat(output)),
            },
        };
    }

    private static List<string> Actions(YamlMappingNode rule, string list) =>
        Child(rule, list) is YamlSequenceNode checks
            ? [.. checks.Children.OfType<YamlMappingNode>().Select(check => (Child(check, "action") as YamlScalarNode)?.Value ?? "")]
            : [];
}
