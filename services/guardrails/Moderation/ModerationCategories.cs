namespace Gateway.Aspire.Guardrails.Moderation;

/// <summary>One of OpenAI's moderation categories; the index into every per-category array.</summary>
internal enum ModerationCategory
{
    Harassment,
    HarassmentThreatening,
    Hate,
    HateThreatening,
    Illicit,
    IllicitViolent,
    SelfHarm,
    SelfHarmIntent,
    SelfHarmInstructions,
    Sexual,
    SexualMinors,
    Violence,
    ViolenceGraphic,
}

/// <summary>
/// The category names of OpenAI's moderation API (the keys of <c>categories</c> and
/// <c>category_scores</c>) and the built-in classifier's default thresholds.
/// </summary>
internal static class ModerationCategories
{
    /// <summary>Number of categories; the length of every per-category array.</summary>
    public const int Count = 13;

    /// <summary>Wire names, indexed by <see cref="ModerationCategory"/>.</summary>
    public static readonly IReadOnlyList<string> Names =
    [
        "harassment",
        "harassment/threatening",
        "hate",
        "hate/threatening",
        "illicit",
        "illicit/violent",
        "self-harm",
        "self-harm/intent",
        "self-harm/instructions",
        "sexual",
        "sexual/minors",
        "violence",
        "violence/graphic",
    ];

    /// <summary>
    /// Default threshold: a category is flagged when its score reaches it. 0.5 everywhere so that a
    /// single strong rule (weight ≥ 0.5) flags on its own and weak cues need company; sexual/minors is
    /// lower (0.4) because a miss there costs far more than a false alarm.
    /// </summary>
    public static readonly IReadOnlyList<double> DefaultThresholds =
        [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.4, 0.5, 0.5];

    /// <summary>The category a sub-category implies (its score never exceeds the parent's).</summary>
    public static ModerationCategory? ParentOf(ModerationCategory category) => category switch
    {
        ModerationCategory.HarassmentThreatening => ModerationCategory.Harassment,
        ModerationCategory.HateThreatening => ModerationCategory.Hate,
        ModerationCategory.IllicitViolent => ModerationCategory.Illicit,
        ModerationCategory.SelfHarmIntent or ModerationCategory.SelfHarmInstructions => ModerationCategory.SelfHarm,
        ModerationCategory.SexualMinors => ModerationCategory.Sexual,
        ModerationCategory.ViolenceGraphic => ModerationCategory.Violence,
        _ => null,
    };

    /// <summary>The category with wire name <paramref name="name"/>, or null for an unknown name.</summary>
    public static ModerationCategory? Parse(string name)
    {
        for (var i = 0; i < Count; i++)
        {
            if (Names[i] == name)
            {
                return (ModerationCategory)i;
            }
        }

        return null;
    }
}
