namespace Gateway.Aspire.Guardrails.Rules;

/// <summary>
/// The rules in force. Reloading is one reference swap of an immutable <see cref="GuardrailRules"/>:
/// readers never lock and never see a half-applied change (the pub/sub that triggers reloads on every
/// replica arrives with the live-configuration work).
/// </summary>
internal sealed class LiveGuardrailRules(GuardrailRules initial)
{
    private volatile GuardrailRules _current = initial;

    /// <summary>The snapshot to use for one call.</summary>
    public GuardrailRules Current => _current;

    /// <summary>Puts <paramref name="rules"/> in force for calls that start from now on.</summary>
    public void Replace(GuardrailRules rules) => _current = rules;
}
