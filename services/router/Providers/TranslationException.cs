namespace Gateway.Aspire.Router.Providers;

/// <summary>
/// A request that is valid in the client's format but cannot be expressed in the upstream's
/// (for example <c>n: 2</c> for a provider without multiple choices). The router answers 400 with
/// <see cref="Exception.Message"/>, which must say what to change.
/// </summary>
public sealed class TranslationException(string message, string? param = null) : Exception(message)
{
    /// <summary>The request field at fault (OpenAI's <c>param</c>), e.g. <c>messages[2].content</c>; null when none.</summary>
    public string? Param { get; } = param;
}
