namespace Gateway.Aspire.Router.Providers;

/// <summary>The JSON dialect a client speaks to the gateway or an upstream speaks to the gateway.</summary>
public enum WireFormat
{
    /// <summary>OpenAI's Chat Completions API (<c>/v1/chat/completions</c>): OpenAI, Azure OpenAI and every OpenAI-compatible server.</summary>
    OpenAi,

    /// <summary>Anthropic's Messages API (<c>/v1/messages</c>).</summary>
    Anthropic,

    /// <summary>Google's Gemini API (<c>models/{model}:generateContent</c>, <c>:streamGenerateContent?alt=sse</c>).</summary>
    Gemini,
}
