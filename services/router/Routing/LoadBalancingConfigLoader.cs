using System.Globalization;
using Gateway.Aspire.Router.Configuration;
using Gateway.Aspire.ServiceDefaults.Configuration;
using YamlDotNet.RepresentationModel;
using static Gateway.Aspire.ServiceDefaults.Configuration.ManifestYaml;

namespace Gateway.Aspire.Router.Routing;

/// <summary>
/// Reads the <c>gateway-load-balancing-config</c> documents of <c>gateway.yaml</c>. Strict like the
/// rest of the file: an unknown field, strategy or status code fails the start with the file,
/// document, rule and field named; targets are checked against the catalog by
/// <see cref="Validate"/> once every provider account is known.
/// </summary>
/// <remarks>
/// The format is TrueFoundry's (<c>rules[]</c> of <c>id</c>, <c>when.{subjects,models,metadata}</c>,
/// <c>type</c>, <c>load_balance_targets[]</c> with <c>target</c>, <c>weight</c>, <c>priority</c>,
/// <c>sla_cutoff</c>, <c>fallback_candidate</c>, <c>fallback_status_codes</c>, <c>retry_config</c>,
/// <c>headers_override</c>; <c>sticky_routing</c>), so files move over. Ours on top:
/// <c>timeout</c> per target (a duration, or <c>{connect, total, stream_idle}</c>) and
/// <c>default_model</c>, the task default: a request that names no model but whose metadata matches
/// the rule's <c>when.metadata</c> calls that model; and <c>cache</c> (<c>{ ttl_seconds }</c>, as on a model). Status codes may be numbers or quoted strings
/// (TrueFoundry writes <c>"429"</c>).
/// </remarks>
public static class LoadBalancingConfigLoader
{
    /// <summary>The document type this loader owns.</summary>
    public const string DocumentType = "gateway-load-balancing-config";

    private static readonly string[] s_subjectPrefixes = ["user:", "team:", "virtualaccount:"];

    /// <summary>Reads the rules of one document.</summary>
    public static IEnumerable<LoadBalancingRule> ReadDocument(ManifestDocument document)
    {
        var root = document.Root;
        var where = Scalar(root, "name", document.Where) is { } name ? $"{document.Where} ({DocumentType} '{name}')" : document.Where;
        RejectUnknown(root, where, "type", "name", "rules");
        if (Child(root, "rules") is not YamlSequenceNode ruleNodes)
        {
            throw new GatewayConfigException($"{where} (line {root.Start.Line}): 'rules' must be a list of rules.");
        }

        for (var i = 0; i < ruleNodes.Children.Count; i++)
        {
            yield return ReadRule(ruleNodes.Children[i], $"{where}, rules[{i}]");
        }
    }

    /// <summary>
    /// Checks the rules against each other and the catalog: unique ids, every target a catalog
    /// model, a virtual model name never shadowing nothing but itself.
    /// </summary>
    public static void Validate(IReadOnlyList<LoadBalancingRule> rules, IReadOnlyList<ProviderAccount> accounts)
    {
        var catalog = accounts.SelectMany(a => a.Models.Select(m => $"{a.Name}/{m.Name}")).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            if (rules.Take(i).FirstOrDefault(r => r.Id == rule.Id) is { } earlier)
            {
                throw new GatewayConfigException($"{rule.Source}: rule id '{rule.Id}' is already used by {earlier.Source}; ids must be unique.");
            }

            foreach (var target in rule.Targets)
            {
                if (!catalog.Contains(target.Target))
                {
                    throw new GatewayConfigException(
                        $"{rule.Source}: target '{target.Target}' is not a model of any provider-account; targets are named '<account>/<model>'.");
                }
            }
        }
    }

    private static LoadBalancingRule ReadRule(YamlNode node, string where)
    {
        if (node is not YamlMappingNode map)
        {
            throw new GatewayConfigException($"{where}, line {node.Start.Line}: a rule must be a mapping with an 'id'.");
        }

        var id = Scalar(map, "id", where) ?? throw Missing(map, where, "id");
        if (id.Length == 0 || id.Any(char.IsWhiteSpace))
        {
            throw new GatewayConfigException($"{where}: 'id' must be non-empty without spaces (got '{id}').");
        }

        where = $"{where} (rule '{id}')";
        RejectUnknown(map, where, "id", "when", "type", "load_balance_targets", "sticky_routing", "default_model", "cache");
        var typeText = Scalar(map, "type", where) ?? throw Missing(map, where, "type");
        var strategy = typeText switch
        {
            "weight-based-routing" => RoutingStrategy.Weight,
            "latency-based-routing" => RoutingStrategy.Latency,
            "priority-based-routing" => RoutingStrategy.Priority,
            _ => throw new GatewayConfigException(
                $"{where}: unknown type '{typeText}'. Known: weight-based-routing, latency-based-routing, priority-based-routing."),
        };

        IReadOnlyList<string> subjects = [], models = [];
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Child(map, "when") is { } whenNode)
        {
            if (whenNode is not YamlMappingNode when)
            {
                throw new GatewayConfigException($"{where}, line {whenNode.Start.Line}: 'when' must be a mapping of subjects, models and metadata.");
            }

            RejectUnknown(when, where + ", when", "subjects", "models", "metadata");
            subjects = ScalarList(when, "subjects", where + ", when") ?? [];
            if (subjects.FirstOrDefault(s => !s_subjectPrefixes.Any(p => s.StartsWith(p, StringComparison.Ordinal) && s.Length > p.Length)) is { } badSubject)
            {
                throw new GatewayConfigException($"{where}, when.subjects: '{badSubject}' must be user:<name>, team:<name> or virtualaccount:<name>.");
            }

            models = ScalarList(when, "models", where + ", when") ?? [];
            if (models.FirstOrDefault(m => m.Length == 0 || m.Any(char.IsWhiteSpace)) is { } badModel)
            {
                throw new GatewayConfigException($"{where}, when.models: '{badModel}' must be a model name without spaces.");
            }

            foreach (var (key, value) in StringMap(when, "metadata", where + ", when"))
            {
                metadata[key] = value;
            }
        }

        var defaultModel = Scalar(map, "default_model", where);
        if (defaultModel is not null)
        {
            if (metadata.Count == 0 || subjects.Count > 0)
            {
                // The model must be known before admission, which is what tells us the caller.
                throw new GatewayConfigException(
                    $"{where}: 'default_model' needs 'when.metadata' (e.g. task: self_reflection) and no 'when.subjects': the task's model is chosen before the caller is known.");
            }

            if (!models.Contains(defaultModel))
            {
                models = [.. models, defaultModel];
            }
        }

        if (Child(map, "load_balance_targets") is not YamlSequenceNode targetNodes || targetNodes.Children.Count == 0)
        {
            throw new GatewayConfigException($"{where}: 'load_balance_targets' must be a non-empty list.");
        }

        var targets = new List<LoadBalanceTarget>();
        foreach (var targetNode in targetNodes.Children)
        {
            var target = ReadTarget(targetNode, $"{where}, load_balance_targets[{targets.Count}]", strategy);
            if (targets.Any(t => t.Target == target.Target))
            {
                throw new GatewayConfigException($"{where}: target '{target.Target}' is listed twice.");
            }

            targets.Add(target);
        }

        if (strategy == RoutingStrategy.Weight && targets.All(t => t.Weight == 0))
        {
            throw new GatewayConfigException($"{where}: at least one target needs a weight above 0.");
        }

        return new LoadBalancingRule
        {
            Id = id,
            Strategy = strategy,
            Subjects = subjects,
            Models = models,
            Metadata = metadata,
            DefaultModel = defaultModel,
            Targets = targets,
            Sticky = ReadSticky(map, where),
            Cache = GatewayConfigLoader.ReadCache(map, where),
            Source = where,
        };
    }

    private static LoadBalanceTarget ReadTarget(YamlNode node, string where, RoutingStrategy strategy)
    {
        if (node is not YamlMappingNode map)
        {
            throw new GatewayConfigException($"{where}, line {node.Start.Line}: a target must be a mapping with a 'target'.");
        }

        var target = Scalar(map, "target", where) ?? throw Missing(map, where, "target");
        where = $"{where} (target '{target}')";
        RejectUnknown(map, where, "target", "weight", "priority", "sla_cutoff", "fallback_candidate", "fallback_status_codes",
            "retry_config", "headers_override", "timeout");
        var weight = NonNegativeInt(map, "weight", where);
        if (strategy == RoutingStrategy.Weight && weight is null)
        {
            throw new GatewayConfigException($"{where}: weight-based-routing needs a 'weight' on every target.");
        }

        double? slaCutoff = null;
        if (Child(map, "sla_cutoff") is { } slaNode)
        {
            if (slaNode is not YamlMappingNode slaMap)
            {
                throw new GatewayConfigException($"{where}, line {slaNode.Start.Line}: 'sla_cutoff' must be a mapping like {{time_per_output_token_ms: 50}}.");
            }

            RejectUnknown(slaMap, where + ", sla_cutoff", "time_per_output_token_ms");
            var text = Scalar(slaMap, "time_per_output_token_ms", where) ?? throw Missing(slaMap, where + ", sla_cutoff", "time_per_output_token_ms");
            slaCutoff = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var cutoff) && cutoff > 0 && double.IsFinite(cutoff)
                ? cutoff
                : throw new GatewayConfigException($"{where}: 'sla_cutoff.time_per_output_token_ms' must be a positive number (got '{text}').");
        }

        var fallbackCandidate = Scalar(map, "fallback_candidate", where) switch
        {
            null => true,
            "true" or "True" => true,
            "false" or "False" => false,
            var other => throw new GatewayConfigException($"{where}: 'fallback_candidate' must be true or false (got '{other}')."),
        };

        return new LoadBalanceTarget
        {
            Target = target,
            Weight = weight ?? 1,
            Priority = NonNegativeInt(map, "priority", where) ?? 0,
            SlaCutoffTpotMs = slaCutoff,
            FallbackCandidate = fallbackCandidate,
            FallbackStatusCodes = StatusCodes(map, "fallback_status_codes", where) ?? LoadBalanceTarget.DefaultFallbackStatusCodes,
            Retry = ReadRetry(map, where),
            HeadersOverride = ReadHeadersOverride(map, where),
            Timeouts = ReadTimeouts(map, where),
        };
    }

    private static RetryConfig ReadRetry(YamlMappingNode map, string where)
    {
        if (Child(map, "retry_config") is not { } node)
        {
            return new RetryConfig();
        }

        if (node is not YamlMappingNode retry)
        {
            throw new GatewayConfigException($"{where}, line {node.Start.Line}: 'retry_config' must be a mapping of attempts, delay and on_status_codes.");
        }

        where += ", retry_config";
        RejectUnknown(retry, where, "attempts", "delay", "on_status_codes");
        var defaults = new RetryConfig();
        return new RetryConfig
        {
            Attempts = NonNegativeInt(retry, "attempts", where) ?? defaults.Attempts,
            Delay = NonNegativeInt(retry, "delay", where) is { } delayMs ? TimeSpan.FromMilliseconds(delayMs) : defaults.Delay,
            OnStatusCodes = StatusCodes(retry, "on_status_codes", where) ?? RetryConfig.DefaultOnStatusCodes,
        };
    }

    private static HeadersOverride? ReadHeadersOverride(YamlMappingNode map, string where)
    {
        if (Child(map, "headers_override") is not { } node)
        {
            return null;
        }

        if (node is not YamlMappingNode headers)
        {
            throw new GatewayConfigException($"{where}, line {node.Start.Line}: 'headers_override' must be a mapping of set and remove.");
        }

        where += ", headers_override";
        RejectUnknown(headers, where, "set", "remove");
        var set = StringMap(headers, "set", where);
        if (set.Keys.FirstOrDefault(IsProtectedHeader) is { } protectedName)
        {
            throw new GatewayConfigException($"{where}: '{protectedName}' cannot be overridden: the gateway computes it for each request.");
        }

        return new HeadersOverride(set, ScalarList(headers, "remove", where) ?? []);
    }

    private static bool IsProtectedHeader(string name) =>
        name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || name.Equals("Host", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase);

    private static TargetTimeouts ReadTimeouts(YamlMappingNode map, string where)
    {
        switch (Child(map, "timeout"))
        {
            case null:
                return TargetTimeouts.None;
            case YamlScalarNode:
                return new TargetTimeouts(null, GatewayConfigLoader.Duration(map, "timeout", where), null);
            case YamlMappingNode timeouts:
                where += ", timeout";
                RejectUnknown(timeouts, where, "connect", "total", "stream_idle");
                return new TargetTimeouts(
                    GatewayConfigLoader.Duration(timeouts, "connect", where),
                    GatewayConfigLoader.Duration(timeouts, "total", where),
                    GatewayConfigLoader.Duration(timeouts, "stream_idle", where));
            case var other:
                throw new GatewayConfigException($"{where}, line {other.Start.Line}: 'timeout' must be a duration like 30s or a mapping of connect, total and stream_idle.");
        }
    }

    private static StickyRouting? ReadSticky(YamlMappingNode map, string where)
    {
        if (Child(map, "sticky_routing") is not { } node)
        {
            return null;
        }

        if (node is not YamlMappingNode sticky)
        {
            throw new GatewayConfigException($"{where}, line {node.Start.Line}: 'sticky_routing' must be a mapping of ttl_seconds and session_identifiers.");
        }

        where += ", sticky_routing";
        RejectUnknown(sticky, where, "ttl_seconds", "session_identifiers");
        var ttl = NonNegativeInt(sticky, "ttl_seconds", where) is { } seconds and > 0 ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromHours(1);
        if (Child(sticky, "session_identifiers") is not YamlSequenceNode identifierNodes || identifierNodes.Children.Count == 0)
        {
            throw new GatewayConfigException($"{where}: 'session_identifiers' must be a non-empty list of {{source: headers|metadata, key: ...}}.");
        }

        var identifiers = new List<SessionIdentifier>();
        foreach (var identifierNode in identifierNodes.Children)
        {
            var at = $"{where}, session_identifiers[{identifiers.Count}]";
            if (identifierNode is not YamlMappingNode identifier)
            {
                throw new GatewayConfigException($"{at}, line {identifierNode.Start.Line}: an identifier must be a mapping of source and key.");
            }

            RejectUnknown(identifier, at, "source", "key");
            var source = Scalar(identifier, "source", at) ?? throw Missing(identifier, at, "source");
            if (source is not ("headers" or "metadata"))
            {
                throw new GatewayConfigException($"{at}: 'source' must be headers or metadata (got '{source}').");
            }

            var key = Scalar(identifier, "key", at) is { Length: > 0 } k ? k : throw Missing(identifier, at, "key");
            identifiers.Add(new SessionIdentifier(source, key));
        }

        return new StickyRouting(ttl, identifiers);
    }

    private static Dictionary<string, string> StringMap(YamlMappingNode map, string key, string where)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Child(map, key) is not { } node)
        {
            return result;
        }

        if (node is not YamlMappingNode values)
        {
            throw new GatewayConfigException($"{where}, line {node.Start.Line}: '{key}' must be a mapping of name to value.");
        }

        foreach (var (name, value) in values.Children)
        {
            var text = (name as YamlScalarNode)?.Value ?? "";
            result[text] = value is YamlScalarNode { Value: { } v }
                ? v
                : throw new GatewayConfigException($"{where}, line {value.Start.Line}: {key}.{text} must be a single value.");
        }

        return result;
    }

    private static int[]? StatusCodes(YamlMappingNode map, string key, string where) => ScalarList(map, key, where)?
        .Select(text => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var code) && code is >= 400 and <= 599
            ? code
            : throw new GatewayConfigException($"{where}: '{key}' holds '{text}', which is not an HTTP error status (400-599)."))
        .ToArray();

    private static int? NonNegativeInt(YamlMappingNode map, string key, string where) => Scalar(map, key, where) switch
    {
        null => null,
        var text when int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) => value,
        var text => throw new GatewayConfigException($"{where}: '{key}' must be a whole number ≥ 0 (got '{text}')."),
    };
}
