using Gateway.Aspire.Router.Configuration;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Messages;
using Gateway.Aspire.Router.Providers.Anthropic;
using Gateway.Aspire.Router.Providers.Gemini;
using Gateway.Aspire.Router.Providers.Streaming;

namespace Gateway.Aspire.Router.Providers;

/// <summary>
/// Picks the translations between the client's format and the model's provider format. The
/// gateway's canonical format is OpenAI's: each provider adapter translates to and from it, and
/// the Anthropic-compatible endpoint translates to and from it too, so any client format meets any
/// provider in at most two steps. When both sides speak the same format nothing is translated:
/// the body is spliced (model name, and usage for OpenAI streams) and relayed as it came.
/// </summary>
internal static class FormatBridge
{
    /// <summary>Output tokens asked of Anthropic, which requires a value, when neither the request nor the model gives one.</summary>
    internal const int AnthropicFallbackMaxTokens = 4096;

    /// <summary>
    /// The upstream body for a request in <paramref name="inbound"/> format. A splice returns a
    /// pooled buffer in <paramref name="pooled"/> that the caller disposes.
    /// </summary>
    /// <exception cref="TranslationException">The request cannot be expressed for this provider (400).</exception>
    public static ReadOnlyMemory<byte> CreateRequest(WireFormat inbound, ReadOnlyMemory<byte> body, in ChatRequestInfo info, CatalogModel model, out PooledBuffer? pooled)
    {
        pooled = null;
        switch (inbound, model.Format)
        {
            case (WireFormat.OpenAi, WireFormat.OpenAi):
                // The gateway bills streams from the usage chunk, so it asks for one (and hides it again).
                pooled = ChatRequestRewriter.Rewrite(body.Span, info, model.ProviderModelJson, injectIncludeUsage: info.Stream && info.IncludeUsage != true,
                    insertFirst: info.MaxTokens is null ? model.DefaultMaxTokensJson : default);
                return pooled.Memory;
            case (WireFormat.Anthropic, WireFormat.Anthropic):
                pooled = ChatRequestRewriter.Rewrite(body.Span, info, model.ProviderModelJson, injectIncludeUsage: false);
                return pooled.Memory;
            case (WireFormat.OpenAi, WireFormat.Anthropic):
                return AnthropicRequestTranslator.Translate(body.Span, model.Model.ProviderModelName, AnthropicMaxTokens(model));
            case (WireFormat.OpenAi, WireFormat.Gemini):
                return GeminiRequestTranslator.Translate(body.Span);
            case (WireFormat.Anthropic, WireFormat.OpenAi):
                // The translation asks for include_usage itself when streaming; only the model is spliced.
                var openAi = MessagesRequestTranslator.Translate(body.Span);
                if (!ChatRequestInspector.TryInspect(openAi, out var translated, out var error))
                {
                    throw new InvalidOperationException("The Messages translation produced an invalid chat request: " + error);
                }

                pooled = ChatRequestRewriter.Rewrite(openAi, translated, model.ProviderModelJson, injectIncludeUsage: false);
                return pooled.Memory;
            case (WireFormat.Anthropic, WireFormat.Gemini):
                return GeminiRequestTranslator.Translate(MessagesRequestTranslator.Translate(body.Span));
            default:
                throw new NotSupportedException($"No bridge from {inbound} to {model.Format}.");
        }
    }

    /// <summary>Translates a whole (non-streamed) successful answer into the client's format and reads its usage.</summary>
    /// <exception cref="InvalidDataException">The upstream's body is not what its API documents (502).</exception>
    public static ReadOnlyMemory<byte> TranslateResponse(WireFormat inbound, CatalogModel model, ReadOnlyMemory<byte> body, string requestedModel, long created, out TokenUsage usage)
    {
        switch (inbound, model.Format)
        {
            case (WireFormat.OpenAi, WireFormat.OpenAi):
                UsageReader.TryRead(body.Span, out usage, out _);
                return body;
            case (WireFormat.Anthropic, WireFormat.Anthropic):
                AnthropicUsage.TryRead(body.Span, out usage);
                return body;
            case (WireFormat.Anthropic, WireFormat.OpenAi):
                UsageReader.TryRead(body.Span, out usage, out _);
                return MessagesResponseTranslator.Translate(body.Span, requestedModel);
            default:
                var openAi = ToOpenAi(model, body.Span, created, out usage);
                return inbound == WireFormat.Anthropic ? MessagesResponseTranslator.Translate(openAi, requestedModel) : openAi;
        }
    }

    /// <summary>
    /// The translator for a streamed answer, or null when the stream is OpenAI on both sides and is
    /// relayed byte for byte by <see cref="SseUsageRelay"/> (the hot path).
    /// </summary>
    /// <param name="inbound">The client's format.</param>
    /// <param name="model">The model serving the request (its provider's format).</param>
    /// <param name="clientWantsUsage">OpenAI clients only: whether the client asked for the usage chunk.</param>
    /// <param name="requestedModel">The model name the client sent, echoed in translated answers.</param>
    /// <param name="created">Unix time for OpenAI chunks' <c>created</c>.</param>
    public static IStreamTranslator? CreateStreamTranslator(WireFormat inbound, CatalogModel model, bool clientWantsUsage, string requestedModel, long created)
    {
        switch (inbound, model.Format)
        {
            case (WireFormat.OpenAi, WireFormat.OpenAi):
                return null;
            case (WireFormat.Anthropic, WireFormat.Anthropic):
                return new AnthropicPassThroughStream();
            case (WireFormat.Anthropic, WireFormat.OpenAi):
                return new MessagesStreamTranslator(requestedModel);
            default:
                // The Messages translator needs the usage chunk to close its stream with usage.
                var wantsUsage = inbound == WireFormat.Anthropic || clientWantsUsage;
                IStreamTranslator toOpenAi = model.Format == WireFormat.Anthropic
                    ? new AnthropicStreamTranslator(created, wantsUsage)
                    : new GeminiStreamTranslator(model.Model.ProviderModelName, created, wantsUsage);
                return inbound == WireFormat.Anthropic
                    ? new ChainedStreamTranslator(toOpenAi, new MessagesStreamTranslator(requestedModel))
                    : toOpenAi;
        }
    }

    /// <summary>The error message and type an upstream error body carries, read in the provider's format.</summary>
    public static (string? Type, string? Message) ReadError(WireFormat upstream, ReadOnlySpan<byte> body) => upstream switch
    {
        WireFormat.Anthropic => AnthropicErrors.Read(body),
        WireFormat.Gemini => GeminiErrors.Read(body),
        _ => (null, null),
    };

    private static byte[] ToOpenAi(CatalogModel model, ReadOnlySpan<byte> body, long created, out TokenUsage usage) => model.Format switch
    {
        WireFormat.Anthropic => AnthropicResponseTranslator.Translate(body, created, out usage),
        _ => GeminiResponseTranslator.Translate(body, model.Model.ProviderModelName, created, out usage),
    };

    private static int AnthropicMaxTokens(CatalogModel model) =>
        model.Model.DefaultMaxTokens ?? Math.Min(model.Model.MaxTokens ?? AnthropicFallbackMaxTokens, AnthropicFallbackMaxTokens);
}
