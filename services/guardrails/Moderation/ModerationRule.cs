namespace Gateway.Aspire.Guardrails.Moderation;

/// <summary>
/// A weighted cue: when <see cref="Pattern"/> matches (and, if set, one of <see cref="Requires"/>
/// matches somewhere in the same text), it adds its weight to each category's score.
/// </summary>
/// <param name="Pattern">What to look for.</param>
/// <param name="Weights">Weight 0..1 per <see cref="ModerationCategory"/>; scores combine as 1 − Π(1 − weight).</param>
/// <param name="Requires">Co-occurrence condition (any of them), e.g. a request word for an illicit action; null when none.</param>
/// <param name="PerWord">Each distinct word of the pattern counts separately (gore or explicit vocabulary piles up); otherwise the rule counts once.</param>
internal sealed record ModerationRule(
    ModerationPattern Pattern,
    IReadOnlyList<double> Weights,
    IReadOnlyList<ModerationPattern>? Requires,
    bool PerWord)
{
    /// <summary>Softened in educational, historical, fictional or word-mention contexts (violence, hate, harassment).</summary>
    public bool SoftenedByEducationalContext { get; } =
        Touches(Weights, ModerationCategory.Violence, ModerationCategory.ViolenceGraphic, ModerationCategory.Harassment,
            ModerationCategory.HarassmentThreatening, ModerationCategory.Hate, ModerationCategory.HateThreatening);

    /// <summary>Softened when the text is about protection, detection or support (illicit and self-harm instructions).</summary>
    public bool SoftenedByProtectiveContext { get; } =
        Touches(Weights, ModerationCategory.Illicit, ModerationCategory.IllicitViolent, ModerationCategory.SelfHarmInstructions);

    private static bool Touches(IReadOnlyList<double> weights, params ReadOnlySpan<ModerationCategory> categories)
    {
        foreach (var category in categories)
        {
            if (weights[(int)category] > 0)
            {
                return true;
            }
        }

        return false;
    }
}
