namespace Gateway.Aspire.Guardrails.Rules;

/// <summary>
/// An immutable snapshot of every <c>gateway-guardrails-config</c> rule, in file order. A reload
/// builds a new snapshot and swaps it in (<see cref="ServiceDefaults.Configuration.LiveConfig{T}"/>); a call reads one
/// snapshot at its start and uses it throughout, so a stream never sees half of two configurations.
/// </summary>
/// <param name="Rules">The rules.</param>
internal sealed record GuardrailRules(IReadOnlyList<GuardrailRule> Rules)
{
    /// <summary>No rules: every call is allowed unchanged.</summary>
    public static readonly GuardrailRules None = new([]);

    /// <summary>Every rule the call matches, in order.</summary>
    public IReadOnlyList<GuardrailRule> Matching(IReadOnlyCollection<string> subjects, string model, IReadOnlyDictionary<string, string> metadata)
    {
        List<GuardrailRule>? matching = null;
        foreach (var rule in Rules)
        {
            if (rule.Matches(subjects, model, metadata))
            {
                (matching ??= []).Add(rule);
            }
        }

        return matching ?? (IReadOnlyList<GuardrailRule>)[];
    }
}
