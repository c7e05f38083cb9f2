using System.Globalization;
using System.Text.RegularExpressions;
using Gateway.Aspire.Guardrails.CustomRules;
using Gateway.Aspire.Guardrails.Moderation;
using Gateway.Aspire.Guardrails.Pii;
using Gateway.Aspire.ServiceDefaults.Configuration;
using YamlDotNet.RepresentationModel;
using static Gateway.Aspire.ServiceDefaults.Configuration.ManifestYaml;

namespace Gateway.Aspire.Guardrails.Rules;

/// <summary>
/// Reads the <c>gateway-guardrails-config</c> documents of <c>gateway.yaml</c> (other types belong
/// to other services). Strict: an unknown field, check, action, type, category or an invalid pattern
/// fails the start with the file, document, rule, check and field named; regular expressions are
/// compiled here, so a configuration that loads cannot fail later on a pattern.
/// </summary>
/// <remarks>
/// Rules follow the shape of the other manifests (<c>id</c>, <c>when.{subjects,models,metadata}</c>);
/// every matching rule applies, in order (see <see cref="GuardrailRule"/>). <c>when.models</c> takes
/// <c>*</c> globs.
/// </remarks>
internal static class GuardrailsConfigLoader
{
    /// <summary>The document type this loader owns.</summary>
    public const string DocumentType = GuardrailRuleScope.DocumentType;

    private static readonly string[] s_subjectPrefixes = ["user:", "team:", "virtualaccount:"];
    private static readonly string[] s_checkFields = ["check", "action", "types", "categories", "threshold", "name", "patterns", "keywords", "allow", "restore", "model", "timeout_ms"];

    /// <summary>Loads the rules of <paramref name="path"/>.</summary>
    public static GuardrailRules Load(string path) => Read(ManifestDocuments.Load(path));

    /// <summary>Parses configuration text; <paramref name="path"/> is only used in messages.</summary>
    public static GuardrailRules Parse(string text, string path) => Read(ManifestDocuments.Parse(text, path));

    /// <summary>Reads documents already split (e.g. the effective configuration of an apply, each document keeping its own label).</summary>
    public static GuardrailRules Read(IReadOnlyList<ManifestDocument> documents)
    {
        var rules = new List<GuardrailRule>();
        foreach (var document in documents.Where(d => d.Type == DocumentType))
        {
            var root = document.Root;
            var where = Scalar(root, "name", document.Where) is { } name ? $"{document.Where} ({DocumentType} '{name}')" : document.Where;
            RejectUnknown(root, where, "type", "name", "rules");
            if (Child(root, "rules") is not YamlSequenceNode ruleNodes)
            {
                throw new ManifestException($"{where} (line {root.Start.Line}): 'rules' must be a list of rules.");
            }

            for (var i = 0; i < ruleNodes.Children.Count; i++)
            {
                var rule = ReadRule(ruleNodes.Children[i], $"{where}, rules[{i}]");
                if (rules.FirstOrDefault(r => r.Id == rule.Id) is { } earlier)
                {
                    throw new ManifestException($"{rule.Source}: rule id '{rule.Id}' is already used by {earlier.Source}; ids must be unique.");
                }

                rules.Add(rule);
            }
        }

        return new GuardrailRules(rules);
    }

    private static GuardrailRule ReadRule(YamlNode node, string where)
    {
        if (node is not YamlMappingNode map)
        {
            throw new ManifestException($"{where}, line {node.Start.Line}: a rule must be a mapping with an 'id'.");
        }

        var id = Scalar(map, "id", where) ?? throw Missing(map, where, "id");
        if (id.Length == 0 || id.Any(char.IsWhiteSpace))
        {
            throw new ManifestException($"{where}: 'id' must be non-empty without spaces (got '{id}').");
        }

        where = $"{where} (rule '{id}')";
        RejectUnknown(map, where, "id", "when", "input", "output", "on_error");
        var (subjects, models, metadata) = ReadWhen(map, where);
        var input = ReadChecks(map, "input", where);
        var output = ReadChecks(map, "output", where);
        if (input.Count + output.Count == 0)
        {
            throw new ManifestException($"{where}: a rule needs at least one check in 'input' or 'output'.");
        }

        var onError = Scalar(map, "on_error", where) switch
        {
            null => GuardrailRuleScope.DefaultFailsOpen(input.Concat(output).Select(c => GuardrailNames.Of(c.Action))) ? OnErrorMode.FailOpen : OnErrorMode.FailClosed,
            "fail_closed" => OnErrorMode.FailClosed,
            "fail_open" => OnErrorMode.FailOpen,
            var other => throw new ManifestException($"{where}: unknown on_error '{other}'. Known: fail_closed, fail_open."),
        };

        return new GuardrailRule
        {
            Id = id,
            Subjects = subjects,
            Models = models,
            Metadata = metadata,
            Input = input,
            Output = output,
            OnError = onError,
            Source = where,
        };
    }

    private static (IReadOnlyList<string> Subjects, IReadOnlyList<string> Models, IReadOnlyDictionary<string, string> Metadata) ReadWhen(
        YamlMappingNode map, string where)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Child(map, "when") is not { } whenNode)
        {
            return ([], [], metadata);
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

        var models = ScalarList(when, "models", where + ", when") ?? [];
        if (models.FirstOrDefault(string.IsNullOrWhiteSpace) is not null)
        {
            throw new ManifestException($"{where}, when.models: a model pattern must not be empty.");
        }

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

        return (subjects, models, metadata);
    }

    private static IReadOnlyList<GuardrailCheck> ReadChecks(YamlMappingNode rule, string list, string where)
    {
        if (Child(rule, list) is not { } node)
        {
            return [];
        }

        if (node is not YamlSequenceNode sequence)
        {
            throw new ManifestException($"{where}, line {node.Start.Line}: '{list}' must be a list of checks, e.g. [{{ check: pii, action: mask }}].");
        }

        var checks = new List<GuardrailCheck>();
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            checks.Add(ReadCheck(sequence.Children[i], list, $"{where}, {list}[{i}]"));
        }

        return checks;
    }

    private static GuardrailCheck ReadCheck(YamlNode node, string list, string where)
    {
        if (node is not YamlMappingNode map)
        {
            throw new ManifestException($"{where}, line {node.Start.Line}: a check must be a mapping with 'check' and 'action'.");
        }

        var checkName = Scalar(map, "check", where) ?? throw Missing(map, where, "check");
        var kind = checkName switch
        {
            "pii" => CheckKind.Pii,
            "moderation" => CheckKind.Moderation,
            "prompt_injection" => CheckKind.PromptInjection,
            "deny_list" => CheckKind.DenyList,
            _ => throw new ManifestException($"{where}: unknown check '{checkName}'. Known: pii, moderation, prompt_injection, deny_list."),
        };

        where = $"{where} (check '{checkName}')";
        RejectUnknown(map, where, s_checkFields);
        RejectFields(map, where, checkName, kind switch
        {
            CheckKind.Pii => ["categories", "threshold", "name", "patterns", "keywords", "allow", "model", "timeout_ms"],
            CheckKind.Moderation => ["types", "name", "patterns", "keywords", "allow", "restore"],
            CheckKind.PromptInjection => ["types", "categories", "name", "patterns", "keywords", "allow", "restore", "model", "timeout_ms"],
            _ => ["types", "categories", "threshold", "restore", "model", "timeout_ms"],
        });

        var actionName = Scalar(map, "action", where) ?? throw Missing(map, where, "action");
        var action = actionName switch
        {
            "mask" => GuardrailAction.Mask,
            "block" => GuardrailAction.Block,
            "flag" => GuardrailAction.Flag,
            _ => throw new ManifestException($"{where}: unknown action '{actionName}'. Known: mask, block, flag."),
        };

        if (action == GuardrailAction.Mask && kind != CheckKind.Pii)
        {
            throw new ManifestException($"{where}: action 'mask' applies only to check 'pii'; use block or flag.");
        }

        var restore = ReadBool(map, "restore", where);
        if (restore && (list != "output" || action != GuardrailAction.Mask))
        {
            throw new ManifestException($"{where}: 'restore: true' only applies to a pii check with action 'mask' in 'output'.");
        }

        var check = new GuardrailCheck
        {
            Kind = kind,
            Action = action,
            Restore = restore,
            Name = checkName,
            Source = where,
        };

        return kind switch
        {
            CheckKind.Pii => check with { PiiTypes = ReadPiiTypes(map, where) },
            CheckKind.Moderation => ReadModeration(map, where, check),
            CheckKind.PromptInjection => check with { Threshold = ReadThreshold(map, where) },
            _ => ReadDenyList(map, where, check),
        };
    }

    private static void RejectFields(YamlMappingNode map, string where, string check, string[] fields)
    {
        foreach (var field in fields)
        {
            if (Child(map, field) is { } node)
            {
                throw new ManifestException($"{where}, line {node.Start.Line}: '{field}' does not apply to check '{check}'.");
            }
        }
    }

    private static bool ReadBool(YamlMappingNode map, string key, string where) => Scalar(map, key, where) switch
    {
        null or "false" => false,
        "true" => true,
        var other => throw new ManifestException($"{where}: '{key}' must be true or false (got '{other}')."),
    };

    private static double? ReadThreshold(YamlMappingNode map, string where) =>
        Scalar(map, "threshold", where) is { } text ? Probability(text, where, "threshold") : null;

    private static double Probability(string text, string where, string field) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value is >= 0 and <= 1
            ? value
            : throw new ManifestException($"{where}: '{field}' must be a number from 0 to 1 (got '{text}').");

    private static IReadOnlyList<PiiType>? ReadPiiTypes(YamlMappingNode map, string where)
    {
        if (ScalarList(map, "types", where) is not { } names)
        {
            return null;
        }

        var types = new List<PiiType>();
        foreach (var name in names)
        {
            types.Add(PiiTypes.TryParse(name, out var type)
                ? type
                : throw new ManifestException(
                    $"{where}: unknown pii type '{name}'. Known: {string.Join(", ", Enum.GetValues<PiiType>().Select(PiiTypes.Name))}."));
        }

        return types.Count > 0 ? types : throw new ManifestException($"{where}: 'types' must name at least one type, or be left out for all.");
    }

    private static GuardrailCheck ReadModeration(YamlMappingNode map, string where, GuardrailCheck check)
    {
        List<ModerationCategory>? categories = null;
        if (ScalarList(map, "categories", where) is { } names)
        {
            categories = [.. names.Select(name => Category(name, where))];
        }

        var perCategory = new Dictionary<ModerationCategory, double>();
        double? threshold = null;
        switch (Child(map, "threshold"))
        {
            case null:
                break;
            case YamlScalarNode { Value: { } text }:
                threshold = Probability(text, where, "threshold");
                break;
            case YamlMappingNode thresholds:
                foreach (var (key, value) in thresholds.Children)
                {
                    var name = (key as YamlScalarNode)?.Value ?? "";
                    perCategory[Category(name, where)] = value is YamlScalarNode { Value: { } text }
                        ? Probability(text, where, $"threshold.{name}")
                        : throw new ManifestException($"{where}, line {value.Start.Line}: threshold.{name} must be a number from 0 to 1.");
                }

                break;
            case var other:
                throw new ManifestException(
                    $"{where}, line {other.Start.Line}: 'threshold' must be a number from 0 to 1 or a mapping of category to number.");
        }

        var model = Scalar(map, "model", where);
        if (model is not null && (model.Length == 0 || !model.Contains('/', StringComparison.Ordinal)))
        {
            throw new ManifestException($"{where}: 'model' must be a catalog model '<account>/<model>' serving /v1/moderations (got '{model}').");
        }

        var timeoutMs = Scalar(map, "timeout_ms", where);
        if (timeoutMs is not null && (model is null || !int.TryParse(timeoutMs, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) || ms is < 1 or > 60_000))
        {
            throw new ManifestException(model is null
                ? $"{where}: 'timeout_ms' applies only with 'model'."
                : $"{where}: 'timeout_ms' must be a whole number of milliseconds from 1 to 60000 (got '{timeoutMs}').");
        }

        return check with
        {
            Categories = categories,
            Threshold = threshold,
            CategoryThresholds = perCategory,
            ModerationModel = model,
            ModerationTimeout = timeoutMs is null ? check.ModerationTimeout : TimeSpan.FromMilliseconds(int.Parse(timeoutMs, CultureInfo.InvariantCulture)),
        };
    }

    private static ModerationCategory Category(string name, string where) =>
        ModerationCategories.Parse(name)
        ?? throw new ManifestException($"{where}: unknown moderation category '{name}'. Known: {string.Join(", ", ModerationCategories.Names)}.");

    private static GuardrailCheck ReadDenyList(YamlMappingNode map, string where, GuardrailCheck check)
    {
        var name = Scalar(map, "name", where);
        var patterns = new List<Regex>();
        if (name is not null && TopicPolicies.Patterns.ContainsKey(name))
        {
            patterns.AddRange(TopicPolicies.Compiled(name));
        }

        var configured = ScalarList(map, "patterns", where) ?? [];
        patterns.AddRange(configured.Select(pattern => Compile(pattern, where, "patterns")));
        var keywords = ScalarList(map, "keywords", where) ?? [];
        if (keywords.FirstOrDefault(string.IsNullOrWhiteSpace) is not null)
        {
            throw new ManifestException($"{where}: 'keywords' must not contain an empty keyword.");
        }

        if (keywords.Count > 0)
        {
            patterns.Add(DenyList.CompileKeywords(keywords));
        }

        if (patterns.Count == 0)
        {
            throw new ManifestException(name is null
                ? $"{where}: a deny_list needs 'patterns', 'keywords' or the 'name' of a built-in topic policy ({string.Join(", ", TopicPolicies.Patterns.Keys)})."
                : $"{where}: '{name}' is not a built-in topic policy ({string.Join(", ", TopicPolicies.Patterns.Keys)}); give it 'patterns' or 'keywords'.");
        }

        var allow = (ScalarList(map, "allow", where) ?? []).Select(pattern => Compile(pattern, where, "allow")).ToList();
        return check with { Name = name ?? "deny_list", DenyList = new DenyList(patterns, allow) };
    }

    private static Regex Compile(string pattern, string where, string field)
    {
        try
        {
            return DenyList.CompilePattern(pattern);
        }
        catch (ArgumentException e)
        {
            throw new ManifestException($"{where}: invalid regular expression in '{field}': \"{pattern}\": {e.Message}", e);
        }
    }
}
