using System.Text;
using System.Text.Json;
using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Router.Providers;
using Gateway.Aspire.ServiceDefaults.Billing;

namespace Gateway.Aspire.Router.Configuration;

/// <summary>
/// Resolves <c>&lt;account&gt;/&lt;model&gt;</c> to what the hot path needs, all of it computed once
/// at load time: the upstream URL, the authorization header, the JSON-encoded provider model name
/// to splice into the body, and the prices as the decimal strings the ledger wants.
/// </summary>
public sealed class ModelCatalog
{
    private readonly Dictionary<string, CatalogModel> _models;

    /// <summary>Builds the catalog, resolving <c>${ENV}</c> references through <paramref name="environment"/>.</summary>
    public ModelCatalog(GatewayConfig config, Func<string, string?> environment, DateTimeOffset loadedAt)
    {
        Config = config;
        var models = new List<CatalogModel>();
        foreach (var account in config.ProviderAccounts)
        {
            var apiKey = account.ApiKeyVariable is { } variable
                ? environment(variable) is { Length: > 0 } value ? value : throw new GatewayConfigException($"{account.Source}: 'api_key' references environment variable {variable}, which is not set.")
                : null;
            var headers = account.Headers
                .Select(h => KeyValuePair.Create(h.Key, h.Value.StartsWith("${", StringComparison.Ordinal) && h.Value.EndsWith('}') ? environment(h.Value[2..^1]) ?? "" : h.Value))
                .ToArray();
            var upstreamHeaders = UpstreamHeaders(account.Provider, apiKey).Concat(headers)
                // An account's own header overrides the default of the same name (e.g. a newer anthropic-version).
                .GroupBy(h => h.Key, StringComparer.OrdinalIgnoreCase).Select(g => g.Last()).ToArray();
            foreach (var model in account.Models)
            {
                models.Add(new CatalogModel(account, model, $"{account.Name}/{model.Name}", upstreamHeaders));
            }
        }

        Models = models;
        _models = models.ToDictionary(m => m.Id, StringComparer.Ordinal);
        Created = loadedAt.ToUnixTimeSeconds();
    }

    /// <summary>The configuration the catalog was built from.</summary>
    public GatewayConfig Config { get; }

    /// <summary>Every model, in file order.</summary>
    public IReadOnlyList<CatalogModel> Models { get; }

    /// <summary>Unix time the catalog was loaded (the <c>created</c> of <c>/v1/models</c>).</summary>
    public long Created { get; }

    /// <summary>How each provider takes its key, plus the headers it requires on every call.</summary>
    private static IEnumerable<KeyValuePair<string, string>> UpstreamHeaders(string provider, string? apiKey)
    {
        if (provider == ProviderKind.Anthropic)
        {
            yield return KeyValuePair.Create("anthropic-version", ProviderKind.AnthropicVersion);
        }

        if (apiKey is null)
        {
            yield break;
        }

        yield return provider switch
        {
            ProviderKind.AzureOpenAi => KeyValuePair.Create("api-key", apiKey),
            ProviderKind.Anthropic => KeyValuePair.Create("x-api-key", apiKey),
            ProviderKind.Gemini => KeyValuePair.Create("x-goog-api-key", apiKey),
            _ => KeyValuePair.Create("Authorization", "Bearer " + apiKey),
        };
    }

    /// <summary>Finds a model by its client-facing id, e.g. <c>mock/gpt-4o-mini</c>.</summary>
    public bool TryResolve(string id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out CatalogModel? model) =>
        _models.TryGetValue(id, out model);
}

/// <summary>A model ready to forward to.</summary>
public sealed class CatalogModel
{
    internal CatalogModel(ProviderAccount account, ProviderModel model, string id, KeyValuePair<string, string>[] headers)
    {
        Account = account;
        Model = model;
        Id = id;
        Format = ProviderKind.FormatOf(account.Provider);
        Headers = headers;
        // base_url may or may not end in '/'; Uri would drop its last segment when combining.
        var baseUrl = account.BaseUrl.AbsoluteUri.TrimEnd('/');
        var escapedModel = Uri.EscapeDataString(model.ProviderModelName);
        var azureQuery = "?api-version=" + Uri.EscapeDataString(account.ApiVersion ?? ProviderKind.DefaultAzureApiVersion);
        (_pathPrefix, _query, ChatCompletionsUri, _streamUri) = account.Provider switch
        {
            ProviderKind.AzureOpenAi => ($"{baseUrl}/openai/deployments/{escapedModel}", azureQuery,
                new Uri($"{baseUrl}/openai/deployments/{escapedModel}/chat/completions{azureQuery}"), null),
            ProviderKind.Anthropic => (baseUrl + "/v1", "", new Uri(baseUrl + "/v1/messages"), null),
            ProviderKind.Gemini => (baseUrl + "/v1beta", "",
                new Uri($"{baseUrl}/v1beta/models/{escapedModel}:generateContent"),
                new Uri($"{baseUrl}/v1beta/models/{escapedModel}:streamGenerateContent?alt=sse")),
            _ => (baseUrl, "", new Uri(baseUrl + "/chat/completions"), (Uri?)null),
        };
        ProviderModelJson = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(model.ProviderModelName, RouterJsonContext.Default.String));
        // OpenAI's reasoning models (and Azure's deployments of them) reject max_tokens; every OpenAI
        // model takes max_completion_tokens. Other OpenAI-compatible servers know max_tokens best.
        DefaultMaxTokensJson = model.DefaultMaxTokens is { } defaultMax
            ? Encoding.UTF8.GetBytes(account.Provider is ProviderKind.OpenAi or ProviderKind.AzureOpenAi
                ? $"\"max_completion_tokens\":{defaultMax},"
                : $"\"max_tokens\":{defaultMax},")
            : [];
        Prices = new TokenPrices(model.Price.InputPerMtok, model.Price.OutputPerMtok, model.Price.CachedInputPerMtok ?? model.Price.InputPerMtok)
        {
            CacheWritePerMtok = model.Price.CacheWritePerMtok,
            ReasoningPerMtok = model.Price.ReasoningPerMtok,
        };
        Price = new Price
        {
            InputPerMtok = model.Price.InputPerMtok.ToString(System.Globalization.CultureInfo.InvariantCulture),
            OutputPerMtok = model.Price.OutputPerMtok.ToString(System.Globalization.CultureInfo.InvariantCulture),
            CachedInputPerMtok = (model.Price.CachedInputPerMtok ?? model.Price.InputPerMtok).ToString(System.Globalization.CultureInfo.InvariantCulture),
            CacheWritePerMtok = (model.Price.CacheWritePerMtok ?? model.Price.InputPerMtok).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ReasoningPerMtok = (model.Price.ReasoningPerMtok ?? model.Price.OutputPerMtok).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    /// <summary>Client-facing id, <c>&lt;account&gt;/&lt;model&gt;</c>.</summary>
    public string Id { get; }

    /// <summary>The account serving it.</summary>
    public ProviderAccount Account { get; }

    /// <summary>The model's configuration.</summary>
    public ProviderModel Model { get; }

    /// <summary>The wire format of the model's provider.</summary>
    public WireFormat Format { get; }

    /// <summary>
    /// Where chat requests go: <c>&lt;base_url&gt;/chat/completions</c> (OpenAI family), the
    /// deployment's URL with <c>api-version</c> (Azure), <c>/v1/messages</c> (Anthropic),
    /// <c>/v1beta/models/{model}:generateContent</c> (Gemini).
    /// </summary>
    public Uri ChatCompletionsUri { get; }

    /// <summary>Where streamed chat requests go: Gemini streams from its own method; the others stream from <see cref="ChatCompletionsUri"/>.</summary>
    public Uri ChatUri(bool stream) => stream && _streamUri is not null ? _streamUri : ChatCompletionsUri;

    /// <summary>
    /// The upstream URL of an OpenAI-family API path such as <c>embeddings</c> or
    /// <c>audio/transcriptions</c>: <c>&lt;base_url&gt;/embeddings</c>, or under the deployment for Azure.
    /// </summary>
    public Uri ApiUri(string path) => new($"{_pathPrefix}/{path}{_query}");

    /// <summary>Upstream headers: the provider's key header (never log it), required headers, then the account's own.</summary>
    internal KeyValuePair<string, string>[] Headers { get; }

    private readonly string _pathPrefix;
    private readonly string _query;
    private readonly Uri? _streamUri;

    /// <summary>The provider model name as a JSON string literal (quotes included), spliced into bodies.</summary>
    internal byte[] ProviderModelJson { get; }

    /// <summary>
    /// The model's <c>default_max_tokens</c> as a property to insert into OpenAI-format chat bodies that
    /// name no limit (e.g. <c>"max_completion_tokens":1024,</c>); empty when the model has no default.
    /// </summary>
    internal byte[] DefaultMaxTokensJson { get; }

    /// <summary>Catalog prices for <see cref="UsageCost"/> (cached input defaults to input), for budget reservations and settlements.</summary>
    internal TokenPrices Prices { get; }

    /// <summary>Catalog prices as the ledger's decimal strings (cached input defaults to input).</summary>
    internal Price Price { get; }
}
