using System.Collections.Frozen;

namespace Gateway.Aspire.Guardrails.Moderation;

/// <summary>
/// The built-in moderation classifier: dependency-free, deterministic, linear in the input. Scores
/// every OpenAI moderation category from the weighted cues of <see cref="ModerationLexicon"/>.
/// </summary>
/// <remarks>
/// Steps of <see cref="Classify"/>:
/// 1. tokenise (undoing leetspeak, letter spacing, repeated letters);
/// 2. for each word, try the rules whose first element accepts it (an index, so the cost does not
///    grow with the number of rules); keep each rule's strongest match, softened ×0.25 when quoted
///    and ×0.2 when negated;
/// 3. soften rules by context (educational/fictional ×0.4, protective ×0.3) and combine each
///    category's contributions as 1 − Π(1 − w);
/// 4. derive sexual/minors, lift parents to their sub-categories, compare with thresholds.
/// </remarks>
internal sealed class ModerationClassifier
{
    /// <summary>Name and version reported as <c>model</c>; bump the number when the lexicon changes scores.</summary>
    public const string ModelName = "gateway-moderation-1";

    private const double QuotedFactor = 0.25;
    private const double NegatedFactor = 0.2;
    private const double EducationalFactor = 0.4;
    private const double ProtectiveFactor = 0.3;

    private static readonly FrozenDictionary<string, ModerationRule[]> RulesByFirstWord = ModerationLexicon.Rules
        .SelectMany(rule => rule.Pattern.FirstWords.Select(word => (word, rule)))
        .GroupBy(pair => pair.word, StringComparer.Ordinal)
        .ToFrozenDictionary(group => group.Key, group => group.Select(pair => pair.rule).ToArray(), StringComparer.Ordinal);

    private readonly IReadOnlyList<double> _thresholds;

    /// <summary>Creates a classifier with <paramref name="thresholds"/> per category (default <see cref="ModerationCategories.DefaultThresholds"/>).</summary>
    public ModerationClassifier(IReadOnlyList<double>? thresholds = null)
    {
        if (thresholds is not null && thresholds.Count != ModerationCategories.Count)
        {
            throw new ArgumentException($"Expected {ModerationCategories.Count} thresholds, got {thresholds.Count}.", nameof(thresholds));
        }

        _thresholds = thresholds ?? ModerationCategories.DefaultThresholds;
    }

    /// <summary>Classifies <paramref name="text"/>; <paramref name="cancellationToken"/> bounds the work on huge inputs.</summary>
    public ModerationScores Classify(string text, CancellationToken cancellationToken = default)
    {
        var tokens = ModerationTokenizer.Tokenize(text, ModerationLexicon.Vocabulary, cancellationToken);

        // 2. Strongest match per rule (per rule and word for per-word rules).
        var strongest = new Dictionary<(ModerationRule Rule, string Word), double>();
        for (var i = 0; i < tokens.Count; i++)
        {
            if ((i & 0xFFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (!RulesByFirstWord.TryGetValue(tokens[i].Text, out var candidates))
            {
                continue;
            }

            foreach (var rule in candidates)
            {
                if (!rule.Pattern.TryMatch(tokens, i, ModerationLexicon.Negations, out var quoted, out var negated))
                {
                    continue;
                }

                var factor = (quoted ? QuotedFactor : 1) * (negated ? NegatedFactor : 1);
                var key = (rule, rule.PerWord ? tokens[i].Text : "");
                if (!strongest.TryGetValue(key, out var previous) || factor > previous)
                {
                    strongest[key] = factor;
                }
            }
        }

        // 3. Context and combination.
        var educational = ModerationLexicon.EducationalContext.Any(pattern => pattern.MatchesAnywhere(tokens, ModerationLexicon.Negations));
        var protective = tokens.Any(token => ModerationLexicon.ProtectiveWords.Contains(token.Text));
        var requirements = new Dictionary<ModerationPattern, bool>();
        var remaining = new double[ModerationCategories.Count];
        Array.Fill(remaining, 1.0);
        foreach (var ((rule, _), matchFactor) in strongest)
        {
            if (rule.Requires is { } requires && !requires.Any(pattern => Holds(pattern, tokens, requirements)))
            {
                continue;
            }

            var factor = matchFactor
                * (educational && rule.SoftenedByEducationalContext ? EducationalFactor : 1)
                * (protective && rule.SoftenedByProtectiveContext ? ProtectiveFactor : 1);
            for (var c = 0; c < ModerationCategories.Count; c++)
            {
                remaining[c] *= 1 - (rule.Weights[c] * factor);
            }
        }

        // 4. Derived category, parents, thresholds.
        var scores = remaining.Select(r => Math.Clamp(1 - r, 0, 1)).ToArray();
        if (ModerationLexicon.MinorCues.Any(pattern => pattern.MatchesAnywhere(tokens, ModerationLexicon.Negations)))
        {
            scores[(int)ModerationCategory.SexualMinors] = scores[(int)ModerationCategory.Sexual];
        }

        var flags = new bool[ModerationCategories.Count];
        for (var c = 0; c < ModerationCategories.Count; c++)
        {
            flags[c] = scores[c] >= _thresholds[c];
        }

        for (var c = 0; c < ModerationCategories.Count; c++)
        {
            if (ModerationCategories.ParentOf((ModerationCategory)c) is { } parent)
            {
                scores[(int)parent] = Math.Max(scores[(int)parent], scores[c]);
                flags[(int)parent] |= flags[c];
            }
        }

        return new ModerationScores(scores, flags);
    }

    private static bool Holds(ModerationPattern pattern, List<ModerationToken> tokens, Dictionary<ModerationPattern, bool> cache)
    {
        if (!cache.TryGetValue(pattern, out var holds))
        {
            holds = pattern.MatchesAnywhere(tokens, ModerationLexicon.Negations);
            cache[pattern] = holds;
        }

        return holds;
    }
}
