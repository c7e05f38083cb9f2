using Gateway.Aspire.Router.Providers;

namespace Gateway.Aspire.Router.Forwarding;

/// <summary>An endpoint clients call with a model: its path, the format it speaks and what the model must serve.</summary>
/// <param name="Path">The route, e.g. <c>/v1/chat/completions</c> (also the guardrails' <c>api</c>).</param>
/// <param name="Format">The client's wire format: requests are read and answers and errors written in it.</param>
/// <param name="ModelType">The model <c>types</c> entry required, e.g. <c>chat</c>.</param>
/// <param name="UpstreamPath">
/// For OpenAI-only APIs relayed as they are (embeddings, legacy completions), the path under the
/// account's base URL; null for chat, which every provider serves through an adapter.
/// </param>
/// <param name="Required">Fields the body must carry, checked by the gateway so a bad request never costs an upstream call.</param>
/// <param name="Multipart">The body is <c>multipart/form-data</c> (audio transcriptions), not JSON.</param>
internal sealed record InboundApi(string Path, WireFormat Format, string ModelType, string? UpstreamPath, RequestFields Required, bool Multipart = false)
{
    /// <summary>OpenAI's <c>POST /v1/chat/completions</c>, served by every provider.</summary>
    public static InboundApi ChatCompletions { get; } = new("/v1/chat/completions", WireFormat.OpenAi, "chat", null, RequestFields.Messages);

    /// <summary>Anthropic's <c>POST /v1/messages</c>, served by every provider.</summary>
    public static InboundApi Messages { get; } = new("/v1/messages", WireFormat.Anthropic, "chat", null, RequestFields.Messages | RequestFields.MaxTokens);

    /// <summary>OpenAI's legacy <c>POST /v1/completions</c> (OpenAI-format providers).</summary>
    public static InboundApi Completions { get; } = new("/v1/completions", WireFormat.OpenAi, "completion", "completions", RequestFields.Prompt);

    /// <summary>OpenAI's <c>POST /v1/embeddings</c> (OpenAI-format providers).</summary>
    public static InboundApi Embeddings { get; } = new("/v1/embeddings", WireFormat.OpenAi, "embedding", "embeddings", RequestFields.Input);

    /// <summary>OpenAI's <c>POST /v1/moderations</c>, relayed to a provider model of type <c>moderation</c>.</summary>
    public static InboundApi Moderations { get; } = new("/v1/moderations", WireFormat.OpenAi, "moderation", "moderations", RequestFields.Input);

    /// <summary>OpenAI's <c>POST /v1/images/generations</c>, relayed to a model of type <c>image</c>.</summary>
    public static InboundApi ImageGenerations { get; } = new("/v1/images/generations", WireFormat.OpenAi, "image", "images/generations", RequestFields.Prompt);

    /// <summary>OpenAI's <c>POST /v1/audio/speech</c> (JSON in, audio bytes out), relayed to a model of type <c>audio</c>.</summary>
    public static InboundApi AudioSpeech { get; } = new("/v1/audio/speech", WireFormat.OpenAi, "audio", "audio/speech", RequestFields.Input);

    /// <summary>OpenAI's <c>POST /v1/audio/transcriptions</c> (multipart with a file), relayed to a model of type <c>audio</c>.</summary>
    public static InboundApi AudioTranscriptions { get; } = new("/v1/audio/transcriptions", WireFormat.OpenAi, "audio", "audio/transcriptions", RequestFields.None, Multipart: true);

    /// <summary><c>POST /v1/rerank</c> as vLLM, TEI and Jina serve it, relayed to a model of type <c>rerank</c>.</summary>
    public static InboundApi Rerank { get; } = new("/v1/rerank", WireFormat.OpenAi, "rerank", "rerank", RequestFields.None);

    /// <summary>Every API the router forwards to a model.</summary>
    public static IReadOnlyList<InboundApi> All { get; } =
        [ChatCompletions, Messages, Completions, Embeddings, Moderations, ImageGenerations, AudioSpeech, AudioTranscriptions, Rerank];

    /// <summary>Whether usage the provider did not report is counted with the tokenizer: text in, text out.</summary>
    public bool EstimatesUsage => ModelType is "chat" or "completion" or "embedding";

    /// <summary>The 400 message for a body missing a required field, or null when none is missing.</summary>
    public string? MissingFieldError(RequestFields present) => (Required & ~present) switch
    {
        RequestFields.None => null,
        var missing when missing.HasFlag(RequestFields.Messages) => "'messages' is required and must be a non-empty array.",
        var missing when missing.HasFlag(RequestFields.MaxTokens) => "'max_tokens' is required.",
        var missing when missing.HasFlag(RequestFields.Prompt) => "'prompt' is required: a string or a non-empty array.",
        _ => "'input' is required: a string or a non-empty array.",
    };
}
