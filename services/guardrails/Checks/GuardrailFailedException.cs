namespace Gateway.Aspire.Guardrails.Checks;

/// <summary>A check of a <c>fail_closed</c> rule could not run; the call must be refused rather than the check skipped.</summary>
internal sealed class GuardrailFailedException(string guardrail, Exception inner)
    : Exception($"Guardrail '{guardrail}' could not run and its rule fails closed.", inner)
{
    /// <summary><c>&lt;rule id&gt;/&lt;check name&gt;</c>.</summary>
    public string Guardrail { get; } = guardrail;
}
