using System.Globalization;
using System.Text.RegularExpressions;
using Gateway.Aspire.Router.Providers;
using Gateway.Aspire.ServiceDefaults.Configuration;
using static Gateway.Aspire.ServiceDefaults.Configuration.ManifestYaml;
using YamlDotNet.RepresentationModel;

namespace Gateway.Aspire.Router.Configuration;

/// <summary>
/// Reads <c>gateway.yaml</c>: YAML documents separated by <c>---</c>, each with a <c>type</c>.
/// Strict on purpose: an unknown type or field, a literal secret or an unset variable fails the
/// start with the file, document and field named, because a typo silently ignored is a
/// misconfigured production gateway.
/// </summary>
/// <remarks>
/// Walks YamlDotNet's representation model by hand rather than deserialising into classes: that is
/// what lets every error name the document, the field and its line. Splitting the file and the
/// strict accessors are shared with policy (<see cref="ManifestDocuments"/>, <see cref="ManifestYaml"/>).
/// </remarks>
public static partial class GatewayConfigLoader
{
    /// <summary>Types other services own and validate from the same file; the router only lets them through.</summary>
    private static readonly string[] s_otherServicesTypes = ["gateway-rate-limiting-config", "gateway-budget-config", "gateway-guardrails-config", "gateway-alerts-config"];

    private static readonly string[] s_modelTypes = ["chat", "completion", "embedding", "moderation", "rerank", "image", "audio"];

    [GeneratedRegex(@"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")]
    private static partial Regex EnvReference();

    /// <summary>
    /// Finds the configuration file: <c>GATEWAY_CONFIG</c> when set, else <c>gateway.yaml</c> in the
    /// current directory or the nearest ancestor up to the repository root.
    /// </summary>
    public static string FindPath(string? configured, string startDirectory)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            var full = System.IO.Path.GetFullPath(configured, startDirectory);
            return File.Exists(full)
                ? full
                : throw new GatewayConfigException($"GATEWAY_CONFIG points to '{full}', which does not exist.");
        }

        for (var directory = new DirectoryInfo(startDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = System.IO.Path.Combine(directory.FullName, "gateway.yaml");
            if (File.Exists(candidate))
            {
                return candidate;
            }

            // The repository root is as far as we look: a gateway.yaml above it belongs to something else.
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "Gateway.Aspire.sln")) || Directory.Exists(System.IO.Path.Combine(directory.FullName, ".git")))
            {
                break;
            }
        }

        throw new GatewayConfigException(
            $"No gateway.yaml found in '{startDirectory}' or its parents up to the repository root. Set GATEWAY_CONFIG to the configuration file.");
    }

    /// <summary>Loads and validates a file; <paramref name="environment"/> resolves <c>${ENV}</c> references.</summary>
    public static GatewayConfig Load(string path, Func<string, string?> environment)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (IOException e)
        {
            throw new GatewayConfigException($"Cannot read gateway configuration '{path}': {e.Message}", e);
        }

        return Parse(text, path, environment);
    }

    /// <summary>Parses configuration text; <paramref name="path"/> is only used in messages.</summary>
    public static GatewayConfig Parse(string text, string path, Func<string, string?> environment)
    {
        try
        {
            return Parse(ManifestDocuments.Parse(text, path), path, environment);
        }
        catch (ManifestException e) when (e is not GatewayConfigException)
        {
            throw new GatewayConfigException(e.Message, e);
        }
    }

    /// <summary>
    /// Validates documents already split (the effective configuration of an apply: the file's
    /// documents overlaid by applied ones, each keeping its own label); <paramref name="path"/> is
    /// recorded as the configuration's path.
    /// </summary>
    public static GatewayConfig Parse(IReadOnlyList<ManifestDocument> documents, string path, Func<string, string?> environment)
    {
        try
        {
            return ParseDocuments(documents, path, environment);
        }
        catch (ManifestException e) when (e is not GatewayConfigException)
        {
            // The shared reader's errors already name file, document and field; one exception type for callers.
            throw new GatewayConfigException(e.Message, e);
        }
    }

    private static GatewayConfig ParseDocuments(IReadOnlyList<ManifestDocument> documents, string path, Func<string, string?> environment)
    {
        var file = System.IO.Path.GetFileName(path);
        var accounts = new List<ProviderAccount>();
        var rules = new List<Routing.LoadBalancingRule>();
        var guardrailRules = new List<GuardrailRuleScope>();
        foreach (var document in documents)
        {
            switch (document.Type)
            {
                case "provider-account":
                    accounts.Add(ReadProviderAccount(document.Root, document.Where, environment));
                    break;
                case Routing.LoadBalancingConfigLoader.DocumentType:
                    rules.AddRange(Routing.LoadBalancingConfigLoader.ReadDocument(document));
                    break;
                case GuardrailRuleScope.DocumentType:
                    // Validated by the guardrails service; the router calls it only when some rule exists,
                    // and applies the rules' on_error itself when it cannot reach it.
                    guardrailRules.AddRange(GuardrailRuleScope.Read([document]));
                    break;
                case var owned when s_otherServicesTypes.Contains(owned):
                    // Owned, loaded and strictly validated by another service (policy, guardrails) from this same file.
                    break;
                default:
                    throw new GatewayConfigException(
                        $"{document.Where}: unknown type '{document.Type}'. Supported types: provider-account, {Routing.LoadBalancingConfigLoader.DocumentType}, {string.Join(", ", s_otherServicesTypes)}.");
            }
        }

        var duplicate = accounts.GroupBy(a => a.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new GatewayConfigException($"{file}: provider-account name '{duplicate.Key}' is used by {string.Join(" and ", duplicate.Select(a => a.Source))}; names must be unique.");
        }

        Routing.LoadBalancingConfigLoader.Validate(rules, accounts);
        return new GatewayConfig { Path = System.IO.Path.GetFullPath(path), ProviderAccounts = accounts, LoadBalancingRules = rules, GuardrailRules = guardrailRules };
    }

    private static ProviderAccount ReadProviderAccount(YamlMappingNode root, string where, Func<string, string?> environment)
    {
        var name = Scalar(root, "name", where) ?? throw Missing(root, where, "name");
        if (name.Length == 0 || name.Contains('/') || name.Any(char.IsWhiteSpace))
        {
            throw new GatewayConfigException($"{where}: 'name' must be non-empty without '/' or spaces (got '{name}').");
        }

        where = $"{where} (provider-account '{name}')";
        RejectUnknown(root, where, "type", "name", "provider", "base_url", "api_key", "api_version", "headers", "models");
        var provider = Scalar(root, "provider", where) ?? throw Missing(root, where, "provider");
        if (!ProviderKind.All.Contains(provider))
        {
            throw new GatewayConfigException($"{where}: unknown provider '{provider}'. Supported: {string.Join(", ", ProviderKind.All)}.");
        }

        Uri baseUrl;
        if (Scalar(root, "base_url", where) is { } baseUrlText)
        {
            if (!Uri.TryCreate(baseUrlText, UriKind.Absolute, out baseUrl!) || (baseUrl.Scheme != Uri.UriSchemeHttp && baseUrl.Scheme != Uri.UriSchemeHttps))
            {
                throw new GatewayConfigException($"{where}: 'base_url' must be an absolute http(s) URL (got '{baseUrlText}').");
            }
        }
        else
        {
            baseUrl = ProviderKind.DefaultBaseUrl(provider) ?? throw new GatewayConfigException(provider == ProviderKind.AzureOpenAi
                ? $"{where}: 'base_url' is required for azure-openai, e.g. https://<resource>.openai.azure.com."
                : $"{where}: 'base_url' is required for openai-compatible, e.g. http://localhost:11434/v1.");
        }

        var apiVersion = Scalar(root, "api_version", where);
        if (apiVersion is not null && provider != ProviderKind.AzureOpenAi)
        {
            throw new GatewayConfigException($"{where}: 'api_version' applies only to provider azure-openai.");
        }

        string? apiKeyVariable = null;
        if (Scalar(root, "api_key", where) is { Length: > 0 } apiKey)
        {
            var match = EnvReference().Match(apiKey);
            if (!match.Success)
            {
                // Never echo the value: it may be a real key.
                throw new GatewayConfigException(
                    $"{where}: 'api_key' must be an environment variable reference like ${{OPENAI_API_KEY}}; literal keys are rejected because secrets never belong in files.");
            }

            apiKeyVariable = match.Groups[1].Value;
            RequireVariable(apiKeyVariable, where, "api_key", environment);
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (Child(root, "headers") is { } headersNode)
        {
            if (headersNode is not YamlMappingNode headerMap)
            {
                throw new GatewayConfigException($"{where}, line {headersNode.Start.Line}: 'headers' must be a mapping of header name to value.");
            }

            foreach (var (key, value) in headerMap.Children)
            {
                var headerName = ((YamlScalarNode)key).Value ?? "";
                if (value is not YamlScalarNode { Value: { } headerValue })
                {
                    throw new GatewayConfigException($"{where}, line {value.Start.Line}: header '{headerName}' must have a string value.");
                }

                if (EnvReference().Match(headerValue) is { Success: true } headerMatch)
                {
                    RequireVariable(headerMatch.Groups[1].Value, where, $"headers.{headerName}", environment);
                }

                headers[headerName] = headerValue;
            }
        }

        if (Child(root, "models") is not YamlSequenceNode modelsNode || modelsNode.Children.Count == 0)
        {
            throw new GatewayConfigException($"{where}: 'models' must be a non-empty list.");
        }

        var models = new List<ProviderModel>();
        foreach (var modelNode in modelsNode.Children)
        {
            var model = ReadModel(modelNode, $"{where}, models[{models.Count}]");
            if (models.Any(m => m.Name == model.Name))
            {
                throw new GatewayConfigException($"{where}: model '{model.Name}' is declared twice.");
            }

            models.Add(model);
        }

        return new ProviderAccount
        {
            Name = name,
            Provider = provider,
            BaseUrl = baseUrl,
            ApiVersion = provider == ProviderKind.AzureOpenAi ? apiVersion ?? ProviderKind.DefaultAzureApiVersion : null,
            ApiKeyVariable = apiKeyVariable,
            Headers = headers,
            Models = models,
            Source = where,
        };
    }

    private static ProviderModel ReadModel(YamlNode node, string where)
    {
        if (node is not YamlMappingNode map)
        {
            throw new GatewayConfigException($"{where}, line {node.Start.Line}: a model must be a mapping with a 'name'.");
        }

        var name = Scalar(map, "name", where) ?? throw Missing(map, where, "name");
        where = $"{where} (model '{name}')";
        RejectUnknown(map, where, "name", "provider_model", "types", "price", "context_window", "default_max_tokens", "max_tokens", "timeout", "cache", "connect_timeout", "request_timeout");

        IReadOnlyList<string> types = ["chat"];
        if (Child(map, "types") is { } typesNode)
        {
            if (typesNode is not YamlSequenceNode typeList || typeList.Children.Count == 0)
            {
                throw new GatewayConfigException($"{where}, line {typesNode.Start.Line}: 'types' must be a non-empty list, e.g. [chat].");
            }

            types = [.. typeList.Children.Select(t => t is YamlScalarNode { Value: { } v } && s_modelTypes.Contains(v)
                ? v
                : throw new GatewayConfigException($"{where}, line {t.Start.Line}: unknown model type '{(t as YamlScalarNode)?.Value}'. Known: {string.Join(", ", s_modelTypes)}."))];
        }

        var price = new ModelPrice();
        if (Child(map, "price") is { } priceNode)
        {
            if (priceNode is not YamlMappingNode priceMap)
            {
                throw new GatewayConfigException($"{where}, line {priceNode.Start.Line}: 'price' must be a mapping.");
            }

            RejectUnknown(priceMap, where + ", price", "input_per_mtok", "output_per_mtok", "cached_input_per_mtok", "cache_write_per_mtok", "reasoning_per_mtok");
            price = new ModelPrice
            {
                InputPerMtok = Decimal(priceMap, "input_per_mtok", where) ?? 0m,
                OutputPerMtok = Decimal(priceMap, "output_per_mtok", where) ?? 0m,
                CachedInputPerMtok = Decimal(priceMap, "cached_input_per_mtok", where),
                CacheWritePerMtok = Decimal(priceMap, "cache_write_per_mtok", where),
                ReasoningPerMtok = Decimal(priceMap, "reasoning_per_mtok", where),
            };
        }

        var defaultMaxTokens = PositiveInt(map, "default_max_tokens", where);
        var maxTokens = PositiveInt(map, "max_tokens", where);
        if (defaultMaxTokens > maxTokens)
        {
            throw new GatewayConfigException($"{where}: 'default_max_tokens' ({defaultMaxTokens}) exceeds 'max_tokens' ({maxTokens}).");
        }

        return new ProviderModel
        {
            Name = name,
            ProviderModelName = Scalar(map, "provider_model", where) is { Length: > 0 } providerModel ? providerModel : name,
            Types = types,
            Price = price,
            ContextWindow = PositiveInt(map, "context_window", where),
            DefaultMaxTokens = defaultMaxTokens,
            MaxTokens = maxTokens,
            Timeout = Duration(map, "timeout", where),
            Cache = ReadCache(map, where),
            ConnectTimeout = Duration(map, "connect_timeout", where),
            RequestTimeout = Duration(map, "request_timeout", where),
        };
    }

    /// <summary>The <c>cache</c> field of a model or a load-balancing rule, or null when absent.</summary>
    internal static ModelCacheConfig? ReadCache(YamlMappingNode map, string where)
    {
        if (Child(map, "cache") is not { } cacheNode)
        {
            return null;
        }

        if (cacheNode is not YamlMappingNode cacheMap)
        {
            throw new GatewayConfigException($"{where}, line {cacheNode.Start.Line}: 'cache' must be a mapping, e.g. {{ ttl_seconds: 3600 }}.");
        }

        RejectUnknown(cacheMap, where + ", cache", "ttl_seconds");
        return PositiveInt(cacheMap, "ttl_seconds", where + ", cache") is { } seconds
            ? new ModelCacheConfig { Ttl = TimeSpan.FromSeconds(seconds) }
            : new ModelCacheConfig();
    }

    private static void RequireVariable(string variable, string where, string field, Func<string, string?> environment)
    {
        if (string.IsNullOrEmpty(environment(variable)))
        {
            throw new GatewayConfigException($"{where}: '{field}' references environment variable {variable}, which is not set.");
        }
    }

    private static decimal? Decimal(YamlMappingNode map, string key, string where) => Scalar(map, key, where) switch
    {
        null => null,
        var text when decimal.TryParse(text, NumberStyles.Number, CultureInfo.InvariantCulture, out var value) && value >= 0 => value,
        var text => throw new GatewayConfigException($"{where}: '{key}' must be a non-negative number (got '{text}')."),
    };

    private static int? PositiveInt(YamlMappingNode map, string key, string where) => Scalar(map, key, where) switch
    {
        null => null,
        var text when int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0 => value,
        var text => throw new GatewayConfigException($"{where}: '{key}' must be a positive integer (got '{text}')."),
    };

    /// <summary>Durations as <c>500ms</c>, <c>30s</c>, <c>2m</c> or a plain number of seconds.</summary>
    internal static TimeSpan? Duration(YamlMappingNode map, string key, string where)
    {
        var text = Scalar(map, key, where);
        if (text is null)
        {
            return null;
        }

        var (number, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1.0)
            : text.EndsWith('m') ? (text[..^1], 60.0)
            : (text, 1.0);
        return double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > 0
            ? TimeSpan.FromSeconds(value * unit)
            : throw new GatewayConfigException($"{where}: '{key}' must be a positive duration like 30s, 500ms or 2m (got '{text}').");
    }
}
