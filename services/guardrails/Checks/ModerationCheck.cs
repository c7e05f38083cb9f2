using Gateway.Aspire.Guardrails.Moderation;
using Gateway.Aspire.Guardrails.Rules;

namespace Gateway.Aspire.Guardrails.Checks;

/// <summary>
/// The <c>moderation</c> check: the built-in classifier's scores against the rule's categories and
/// thresholds (per category, else the rule's one number, else the classifier's default for that category).
/// </summary>
internal sealed class ModerationCheck(ModerationClassifier classifier) : IContentCheck
{
    /// <inheritdoc />
    public CheckKind Kind => CheckKind.Moderation;

    /// <inheritdoc />
    public IReadOnlyList<CheckHit> Find(GuardrailCheck check, string text, CancellationToken cancellationToken)
    {
        var scores = classifier.Classify(text, cancellationToken);
        var hits = new List<(CheckHit Hit, double Score)>();
        var categories = check.Categories ?? Enum.GetValues<ModerationCategory>();
        foreach (var category in categories)
        {
            var threshold = check.CategoryThresholds.TryGetValue(category, out var own)
                ? own
                : check.Threshold ?? ModerationCategories.DefaultThresholds[(int)category];
            var score = scores.Score(category);
            if (score > 0 && score >= threshold)
            {
                hits.Add((new CheckHit(ModerationCategories.Names[(int)category], 0, text.Length), score));
            }
        }

        return [.. hits.OrderByDescending(h => h.Score).Select(h => h.Hit)];
    }
}
