using Gateway.Aspire.ServiceDefaults.Configuration;

namespace Gateway.Aspire.Guardrails.Rules;

/// <summary>
/// One rule of a <c>gateway-guardrails-config</c> document. A call matches when every condition of
/// <c>when</c> that is set matches (AND); within a list any item may match (OR). Unlike rate limits,
/// every matching rule applies, in file order: a PII rule for all models and a safety rule for some
/// callers are meant to add up.
/// </summary>
internal sealed record GuardrailRule
{
    /// <summary>Unique id; named in block replies and findings. Required.</summary>
    public required string Id { get; init; }

    /// <summary><c>when.subjects</c>: <c>user:x</c>, <c>team:x</c>, <c>virtualaccount:x</c>. Default: empty (any caller).</summary>
    public IReadOnlyList<string> Subjects { get; init; } = [];

    /// <summary><c>when.models</c>: model ids with <c>*</c> globs (<see cref="ModelGlob"/>). Default: empty (any model).</summary>
    public IReadOnlyList<string> Models { get; init; } = [];

    /// <summary><c>when.metadata</c>: every pair must equal the call's metadata. Default: empty (any metadata).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary><c>input</c>: checks on the request, in order. Default empty.</summary>
    public IReadOnlyList<GuardrailCheck> Input { get; init; } = [];

    /// <summary><c>output</c>: checks on the answer (whole or streamed), in order. Default empty.</summary>
    public IReadOnlyList<GuardrailCheck> Output { get; init; } = [];

    /// <summary>
    /// <c>on_error</c>. Default: <see cref="OnErrorMode.FailClosed"/> when any check blocks or masks (a
    /// skipped mask would send the data it exists to hide), else <see cref="OnErrorMode.FailOpen"/>.
    /// </summary>
    public required OnErrorMode OnError { get; init; }

    /// <summary>Where the rule came from, for messages.</summary>
    public string Source { get; init; } = "";

    /// <summary>Whether a call by <paramref name="subjects"/> to <paramref name="model"/> with <paramref name="metadata"/> matches.</summary>
    /// <remarks>The shared <see cref="GuardrailRuleScope.WhenMatches"/>: the router decides fail modes with the very same test.</remarks>
    public bool Matches(IReadOnlyCollection<string> subjects, string model, IReadOnlyDictionary<string, string> metadata) =>
        GuardrailRuleScope.WhenMatches(Subjects, Models, Metadata, subjects, model, metadata);
}
