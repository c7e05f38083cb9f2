using Gateway.Aspire.Guardrails.PromptInjection;
using Gateway.Aspire.Guardrails.Rules;

namespace Gateway.Aspire.Guardrails.Checks;

/// <summary>The <c>prompt_injection</c> check: the heuristic score against the rule's threshold; the category is the attack family.</summary>
internal sealed class PromptInjectionCheck(PromptInjectionDetector detector) : IContentCheck
{
    /// <inheritdoc />
    public CheckKind Kind => CheckKind.PromptInjection;

    /// <inheritdoc />
    public IReadOnlyList<CheckHit> Find(GuardrailCheck check, string text, CancellationToken cancellationToken)
    {
        var score = detector.Score(text, cancellationToken);
        return score.Score > 0 && score.Score >= (check.Threshold ?? PromptInjectionDetector.DefaultThreshold)
            ? [new CheckHit(score.Category, 0, text.Length)]
            : [];
    }
}
