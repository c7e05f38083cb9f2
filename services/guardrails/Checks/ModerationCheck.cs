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
        => Hits(check, classifier.Classify(text, cancellationToken), text.Length);

    /// <summary>What <paramref name="check"/> makes of <paramref name="scores"/> (built-in or a moderation model's), strongest first.</summary>
    public static IReadOnlyList<CheckHit> Hits(GuardrailCheck check, ModerationScores scores, int textLength)
    {
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
                hits.Add((new CheckHit(ModerationCategories.Names[(int)category], 0, textLength), score));
            }
        }

        return [.. hits.OrderByDescending(h => h.Score).Select(h => h.Hit)];
    }
}
