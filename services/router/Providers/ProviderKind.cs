namespace Gateway.Aspire.Router.Providers;

/// <summary>The <c>provider</c> values of a <c>provider-account</c>, with what each implies.</summary>
public static class ProviderKind
{
    /// <summary>api.openai.com: bearer key, paths under <c>/v1</c>.</summary>
    public const string OpenAi = "openai";

    /// <summary>Azure OpenAI: deployment URLs (<c>/openai/deployments/{provider_model}/...?api-version=</c>), <c>api-key</c> header.</summary>
    public const string AzureOpenAi = "azure-openai";

    /// <summary>Anthropic's Messages API: <c>x-api-key</c> and <c>anthropic-version</c> headers.</summary>
    public const string Anthropic = "anthropic";

    /// <summary>Google's Gemini API: <c>x-goog-api-key</c> header, model in the URL.</summary>
    public const string Gemini = "gemini";

    /// <summary>Any server speaking OpenAI's API (vLLM, TGI, Ollama, LM Studio, Groq, Together, Mistral, DeepSeek, OpenRouter): base URL and an optional bearer key.</summary>
    public const string OpenAiCompatible = "openai-compatible";

    /// <summary>Every supported kind, in the order error messages list them.</summary>
    public static IReadOnlyList<string> All { get; } = [OpenAi, AzureOpenAi, Anthropic, Gemini, OpenAiCompatible];

    /// <summary>
    /// The official base URL, in the form <c>base_url</c> takes for that provider, or null when the
    /// account must give one (Azure resources and self-hosted servers have no single address).
    /// </summary>
    public static Uri? DefaultBaseUrl(string kind) => kind switch
    {
        OpenAi => new Uri("https://api.openai.com/v1"),
        Anthropic => new Uri("https://api.anthropic.com"),
        Gemini => new Uri("https://generativelanguage.googleapis.com"),
        _ => null,
    };

    /// <summary>The chat wire format the provider speaks.</summary>
    public static WireFormat FormatOf(string kind) => kind switch
    {
        Anthropic => WireFormat.Anthropic,
        Gemini => WireFormat.Gemini,
        _ => WireFormat.OpenAi,
    };

    /// <summary>Azure OpenAI data-plane API version used when the account sets none (the latest GA version when this was written).</summary>
    public const string DefaultAzureApiVersion = "2024-10-21";

    /// <summary>The <c>anthropic-version</c> header value; the Messages API has had one stable version.</summary>
    public const string AnthropicVersion = "2023-06-01";
}
