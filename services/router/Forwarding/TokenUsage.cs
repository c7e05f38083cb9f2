namespace Gateway.Aspire.Router.Forwarding;

/// <summary>
/// Token counts of one call in the gateway's one shape, whatever the provider's: OpenAI's
/// semantics, where the prompt count includes cached input and the completion count includes
/// reasoning. Each adapter converts its provider's usage into this shape.
/// </summary>
/// <param name="PromptTokens">
/// All input tokens, cached and cache-written ones included (OpenAI <c>prompt_tokens</c>;
/// Anthropic <c>input_tokens + cache_read_input_tokens + cache_creation_input_tokens</c>;
/// Gemini <c>promptTokenCount</c>).
/// </param>
/// <param name="CompletionTokens">
/// All output tokens, reasoning included (OpenAI <c>completion_tokens</c>; Anthropic
/// <c>output_tokens</c>; Gemini <c>candidatesTokenCount + thoughtsTokenCount</c>).
/// </param>
/// <param name="CachedTokens">
/// Input tokens read from the provider's prompt cache, a part of <paramref name="PromptTokens"/>
/// (OpenAI <c>prompt_tokens_details.cached_tokens</c>; Anthropic <c>cache_read_input_tokens</c>;
/// Gemini <c>cachedContentTokenCount</c>).
/// </param>
internal readonly record struct TokenUsage(int PromptTokens, int CompletionTokens, int CachedTokens)
{
    /// <summary>
    /// Input tokens written to the provider's prompt cache, a part of <see cref="PromptTokens"/>
    /// (Anthropic <c>cache_creation_input_tokens</c>, billed above the input rate). Zero elsewhere.
    /// </summary>
    public int CacheWriteTokens { get; init; }

    /// <summary>
    /// Reasoning ("thinking") tokens, a part of <see cref="CompletionTokens"/> (OpenAI
    /// <c>completion_tokens_details.reasoning_tokens</c>; Gemini <c>thoughtsTokenCount</c>).
    /// </summary>
    public int ReasoningTokens { get; init; }

    /// <summary>True when the gateway counted the tokens itself because the provider reported none.</summary>
    public bool Estimated { get; init; }
}
