namespace Gateway.Aspire.Policy.Rules;

/// <summary>Who is calling what, and what the call may consume, as rate-limit and budget rules see it.</summary>
/// <param name="Subjects">The caller's subjects (<c>user:</c>, <c>team:</c>, <c>virtualaccount:</c>; see <see cref="Tokens.TokenRecord.Subjects"/>).</param>
/// <param name="VirtualAccount">The virtual account's name, or empty.</param>
/// <param name="Model">The requested <c>&lt;account&gt;/&lt;model&gt;</c>.</param>
/// <param name="Metadata">The caller's <c>x-gateway-metadata</c>.</param>
/// <param name="EstimatedPromptTokens">The router's estimate of the prompt.</param>
/// <param name="MaxTokens">The request's max_tokens, 0 when unknown.</param>
/// <param name="MaxCostNanoUsd">The router's bound on the call's cost in nano-USD (0: free or unpriced).</param>
public sealed record AdmissionCall(
    IReadOnlyList<string> Subjects,
    string VirtualAccount,
    string Model,
    IReadOnlyDictionary<string, string> Metadata,
    long EstimatedPromptTokens,
    long MaxTokens,
    long MaxCostNanoUsd = 0)
{
    /// <summary>A personal token's user; empty otherwise. Default: empty.</summary>
    public string User { get; init; } = "";

    /// <summary>The caller's teams (a user's, or the virtual account's owner). Default: none.</summary>
    public IReadOnlyList<string> Teams { get; init; } = [];

    /// <summary>Completions the call asks for (OpenAI's <c>n</c>); each may use <see cref="MaxTokens"/>. Default: 1.</summary>
    public int Choices { get; init; } = 1;
}
