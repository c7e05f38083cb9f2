namespace Gateway.Aspire.Guardrails.Moderation;

/// <summary>What the classifier found in one text.</summary>
/// <param name="Scores">Score 0..1 per <see cref="ModerationCategory"/>.</param>
/// <param name="Categories">Whether each category reached its threshold.</param>
internal sealed record ModerationScores(IReadOnlyList<double> Scores, IReadOnlyList<bool> Categories)
{
    /// <summary>Whether any category is flagged.</summary>
    public bool Flagged => Categories.Contains(true);

    /// <summary>Score of <paramref name="category"/>.</summary>
    public double Score(ModerationCategory category) => Scores[(int)category];

    /// <summary>Whether <paramref name="category"/> is flagged.</summary>
    public bool IsFlagged(ModerationCategory category) => Categories[(int)category];
}
