namespace Gateway.Aspire.Router.Configuration;

/// <summary>
/// A <c>provider-account</c> document of <c>gateway.yaml</c>: one provider endpoint, its key and its models.
/// Clients address its models as <c>&lt;account&gt;/&lt;model&gt;</c>.
/// </summary>
public sealed record ProviderAccount
{
    /// <summary>Account name, the prefix of model ids (<c>mock</c> in <c>mock/gpt-4o-mini</c>). Required.</summary>
    public required string Name { get; init; }

    /// <summary>Provider kind, one of <see cref="Providers.ProviderKind.All"/>. Required.</summary>
    public required string Provider { get; init; }

    /// <summary>
    /// Base URL in the provider's own form: <c>https://api.openai.com/v1</c>, <c>https://api.anthropic.com</c>,
    /// <c>https://generativelanguage.googleapis.com</c>, <c>https://&lt;resource&gt;.openai.azure.com</c>,
    /// <c>http://localhost:11434/v1</c>. Default: the provider's official URL; required for
    /// <c>azure-openai</c> and <c>openai-compatible</c>.
    /// </summary>
    public required Uri BaseUrl { get; init; }

    /// <summary>Azure OpenAI <c>api-version</c>. Default: <see cref="Providers.ProviderKind.DefaultAzureApiVersion"/> for azure-openai; null for the others.</summary>
    public string? ApiVersion { get; init; }

    /// <summary>
    /// Name of the environment variable holding the API key (written <c>${NAME}</c> in the file;
    /// secrets never live in files). Null (the default) for servers without authentication.
    /// </summary>
    public string? ApiKeyVariable { get; init; }

    /// <summary>Extra headers sent upstream; values may be <c>${ENV}</c> references. Default: none.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>The models this account serves. Required, at least one.</summary>
    public required IReadOnlyList<ProviderModel> Models { get; init; }

    /// <summary>Where the document came from, e.g. <c>gateway.yaml, document 1</c> (for error messages).</summary>
    public string Source { get; init; } = "";
}

/// <summary>One model of a <see cref="ProviderAccount"/>.</summary>
public sealed record ProviderModel
{
    /// <summary>Name after the account prefix. Required.</summary>
    public required string Name { get; init; }

    /// <summary>Model name sent upstream. Default: <see cref="Name"/>.</summary>
    public required string ProviderModelName { get; init; }

    /// <summary>API kinds the model serves (<c>chat</c>, <c>completion</c>, <c>embedding</c>, ...). Default: <c>[chat]</c>.</summary>
    public IReadOnlyList<string> Types { get; init; } = ["chat"];

    /// <summary>Prices in USD per million tokens. Default: all zero (e.g. a self-hosted model).</summary>
    public ModelPrice Price { get; init; } = new();

    /// <summary>Context window in tokens. Default: null (unknown).</summary>
    public int? ContextWindow { get; init; }

    /// <summary>
    /// Output tokens asked for when a chat request names none (sent as <c>max_completion_tokens</c>
    /// to openai and azure-openai, <c>max_tokens</c> elsewhere). Default: null: the upstream
    /// decides, except Anthropic, which requires a value and gets the smaller of
    /// <see cref="MaxTokens"/> and 4096.
    /// </summary>
    public int? DefaultMaxTokens { get; init; }

    /// <summary>Most output tokens a request may ask for; more is a 400. Default: null (no limit checked by the gateway).</summary>
    public int? MaxTokens { get; init; }

    /// <summary>
    /// Upstream timeout: time to the response headers, then the longest silence inside a stream.
    /// Default: null, meaning the router's <c>Router:UpstreamTimeout</c> (10 minutes).
    /// </summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Longest wait to open a connection to the upstream (<c>connect_timeout</c>). Default: null, 15 seconds.</summary>
    public TimeSpan? ConnectTimeout { get; init; }

    /// <summary>Longest a whole call may take, headers and body (<c>request_timeout</c>). Default: null (no limit beyond <see cref="Timeout"/>'s).</summary>
    public TimeSpan? RequestTimeout { get; init; }

    /// <summary>
    /// The response cache for this model (<c>cache: { ttl_seconds: N }</c>). Default: null, meaning
    /// answers are cached only for requests that send <c>x-gateway-cache-ttl</c>.
    /// </summary>
    public ModelCacheConfig? Cache { get; init; }
}

/// <summary>The <c>cache</c> field of a model: its answers are kept in the response cache.</summary>
public sealed record ModelCacheConfig
{
    /// <summary>Default time to live of a cached answer: 3600 seconds.</summary>
    public static readonly TimeSpan DefaultTtl = TimeSpan.FromHours(1);

    /// <summary>How long an answer stays cached (<c>ttl_seconds</c>). Default: <see cref="DefaultTtl"/>.</summary>
    public TimeSpan Ttl { get; init; } = DefaultTtl;
}

/// <summary>Unit prices in USD per million tokens. Money is decimal: exact, no binary floating point.</summary>
public sealed record ModelPrice
{
    /// <summary>Price of a million prompt tokens. Default: 0.</summary>
    public decimal InputPerMtok { get; init; }

    /// <summary>Price of a million completion tokens. Default: 0.</summary>
    public decimal OutputPerMtok { get; init; }

    /// <summary>Price of a million cached prompt tokens. Default: null (same as <see cref="InputPerMtok"/>).</summary>
    public decimal? CachedInputPerMtok { get; init; }

    /// <summary>Price of a million prompt tokens written to the provider's cache (Anthropic: 1.25× input). Default: null (same as <see cref="InputPerMtok"/>).</summary>
    public decimal? CacheWritePerMtok { get; init; }

    /// <summary>Price of a million reasoning tokens. Default: null (same as <see cref="OutputPerMtok"/>, as every provider bills them today).</summary>
    public decimal? ReasoningPerMtok { get; init; }
}

/// <summary>The whole gateway configuration as loaded from one file.</summary>
public sealed record GatewayConfig
{
    /// <summary>Absolute path of the file it was loaded from.</summary>
    public required string Path { get; init; }

    /// <summary>The <c>provider-account</c> documents, in file order.</summary>
    public required IReadOnlyList<ProviderAccount> ProviderAccounts { get; init; }

    /// <summary>The rules of the <c>gateway-load-balancing-config</c> documents, in file order. Default: none.</summary>
    public IReadOnlyList<Routing.LoadBalancingRule> LoadBalancingRules { get; init; } = [];

    /// <summary>
    /// The scope of every <c>gateway-guardrails-config</c> rule (whom it applies to, input/output,
    /// <c>on_error</c>): the guardrails service validates and runs them; the router needs only whether
    /// to call it and what to do when it cannot. Default: none.
    /// </summary>
    public IReadOnlyList<Gateway.Aspire.ServiceDefaults.Configuration.GuardrailRuleScope> GuardrailRules { get; init; } = [];

    /// <summary>Whether a <c>gateway-guardrails-config</c> document has at least one rule.</summary>
    public bool HasGuardrailsRules => GuardrailRules.Count > 0;
}

/// <summary>The configuration is invalid; the message names the file, document and field.</summary>
public sealed class GatewayConfigException(string message, Exception? inner = null)
    : Gateway.Aspire.ServiceDefaults.Configuration.ManifestException(message, inner);
