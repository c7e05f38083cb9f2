using System.Text;
using System.Text.Json;
using Gateway.Aspire.Accounting.Grpc;

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
            // base_url may or may not end in '/'; Uri would drop its last segment when combining.
            var chatUri = new Uri(account.BaseUrl.AbsoluteUri.TrimEnd('/') + "/chat/completions");
            foreach (var model in account.Models)
            {
                models.Add(new CatalogModel(account, model, $"{account.Name}/{model.Name}", chatUri, apiKey is null ? null : "Bearer " + apiKey, headers));
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

    /// <summary>Finds a model by its client-facing id, e.g. <c>mock/gpt-4o-mini</c>.</summary>
    public bool TryResolve(string id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out CatalogModel? model) =>
        _models.TryGetValue(id, out model);
}

/// <summary>A model ready to forward to.</summary>
public sealed class CatalogModel
{
    internal CatalogModel(ProviderAccount account, ProviderModel model, string id, Uri chatCompletionsUri, string? authorization, KeyValuePair<string, string>[] headers)
    {
        Account = account;
        Model = model;
        Id = id;
        ChatCompletionsUri = chatCompletionsUri;
        Authorization = authorization;
        Headers = headers;
        ProviderModelJson = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(model.ProviderModelName, RouterJsonContext.Default.String));
        Price = new Price
        {
            InputPerMtok = model.Price.InputPerMtok.ToString(System.Globalization.CultureInfo.InvariantCulture),
            OutputPerMtok = model.Price.OutputPerMtok.ToString(System.Globalization.CultureInfo.InvariantCulture),
            CachedInputPerMtok = (model.Price.CachedInputPerMtok ?? model.Price.InputPerMtok).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    /// <summary>Client-facing id, <c>&lt;account&gt;/&lt;model&gt;</c>.</summary>
    public string Id { get; }

    /// <summary>The account serving it.</summary>
    public ProviderAccount Account { get; }

    /// <summary>The model's configuration.</summary>
    public ProviderModel Model { get; }

    /// <summary><c>&lt;base_url&gt;/chat/completions</c>.</summary>
    public Uri ChatCompletionsUri { get; }

    /// <summary><c>Bearer &lt;key&gt;</c>, or null when the account has no key. Never log it.</summary>
    internal string? Authorization { get; }

    /// <summary>Extra upstream headers with references resolved.</summary>
    internal KeyValuePair<string, string>[] Headers { get; }

    /// <summary>The provider model name as a JSON string literal (quotes included), spliced into bodies.</summary>
    internal byte[] ProviderModelJson { get; }

    /// <summary>Catalog prices as the ledger's decimal strings (cached input defaults to input).</summary>
    internal Price Price { get; }
}
