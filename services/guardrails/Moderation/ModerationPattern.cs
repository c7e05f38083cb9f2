using System.Collections.Frozen;

namespace Gateway.Aspire.Guardrails.Moderation;

/// <summary>
/// A short sequence of word alternatives matched over <see cref="ModerationToken"/>s, written in a
/// tiny notation so that the lexicon reads like the phrases it describes:
/// <c>"{FIRST} ~2 {INTENT} ~3 {HARM} ~1 {YOU}"</c>. Elements are separated by spaces: a literal
/// word, alternatives joined by <c>|</c>, a <c>{CLASS}</c> of <see cref="ModerationLexicon"/>, a
/// <c>~N</c> allowing up to N other words before the next element, and a leading <c>^</c> that
/// anchors the pattern at the start of a sentence.
/// </summary>
/// <remarks>
/// Matching is greedy (each element takes the first fitting word) and bounded (at most N words
/// are skipped), so one attempt costs O(elements × gap) and a whole text O(length): no
/// backtracking, whatever the input.
/// </remarks>
internal sealed class ModerationPattern
{
    private readonly Step[] _steps;

    private ModerationPattern(string source, Step[] steps, bool anchored, IReadOnlyList<string> words)
    {
        Source = source;
        _steps = steps;
        Anchored = anchored;
        Words = words;
    }

    /// <summary>The pattern as written in the lexicon.</summary>
    public string Source { get; }

    /// <summary>Whether the pattern only matches at the start of a sentence.</summary>
    public bool Anchored { get; }

    /// <summary>The normalised words the first element accepts (the index key of the classifier).</summary>
    public FrozenSet<string> FirstWords => _steps[0].Words;

    /// <summary>Every word the pattern mentions, in natural spelling (the vocabulary for spaced-out letters).</summary>
    public IReadOnlyList<string> Words { get; }

    /// <summary>Parses <paramref name="source"/>; classes are looked up in <paramref name="classes"/> (natural spelling).</summary>
    public static ModerationPattern Parse(string source, IReadOnlyDictionary<string, string[]> classes)
    {
        var steps = new List<Step>();
        var natural = new List<string>();
        var anchored = false;
        var gap = 0;
        foreach (var element in source.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (element == "^" && steps.Count == 0)
            {
                anchored = true;
            }
            else if (element[0] == '~')
            {
                gap = int.Parse(element.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);
            }
            else
            {
                var words = new List<string>();
                foreach (var alternative in element.Split('|'))
                {
                    if (alternative.StartsWith('{'))
                    {
                        var name = alternative.Trim('{', '}');
                        words.AddRange(classes.TryGetValue(name, out var members)
                            ? members
                            : throw new InvalidOperationException($"Unknown word class {{{name}}} in moderation pattern \"{source}\"."));
                    }
                    else
                    {
                        words.Add(alternative);
                    }
                }

                natural.AddRange(words);
                steps.Add(new Step(words.Select(Normalize).ToFrozenSet(StringComparer.Ordinal), gap));
                gap = 0;
            }
        }

        if (steps.Count == 0)
        {
            throw new InvalidOperationException($"Empty moderation pattern \"{source}\".");
        }

        return new ModerationPattern(source, [.. steps], anchored, natural);
    }

    /// <summary>The token form of a lexicon word: squeezed like the text, digits kept (ages must stay "11", not "1").</summary>
    public static string Normalize(string word) =>
        word.Length > 0 && char.IsLetter(word[0]) ? ModerationTokenizer.Squeeze(word) : word;

    /// <summary>
    /// Tries to match starting exactly at <paramref name="start"/>. <paramref name="quoted"/>: a
    /// matched word was inside a quotation; <paramref name="negated"/>: a negation word stood in the
    /// three words before the match or in a skipped gap ("I'm not going to hurt anyone").
    /// </summary>
    public bool TryMatch(List<ModerationToken> tokens, int start, FrozenSet<string> negations, out bool quoted, out bool negated)
    {
        quoted = false;
        negated = false;
        var sentence = tokens[start].Sentence;
        if (Anchored && start > 0 && tokens[start - 1].Sentence == sentence)
        {
            return false;
        }

        if (!_steps[0].Words.Contains(tokens[start].Text))
        {
            return false;
        }

        quoted = tokens[start].Quoted;
        var position = start;
        for (var s = 1; s < _steps.Length; s++)
        {
            var step = _steps[s];
            var found = -1;
            for (var p = position + 1; p <= position + 1 + step.MaxGap && p < tokens.Count && tokens[p].Sentence == sentence; p++)
            {
                if (step.Words.Contains(tokens[p].Text))
                {
                    found = p;
                    break;
                }
            }

            if (found < 0)
            {
                return false;
            }

            for (var p = position + 1; p < found; p++)
            {
                negated |= negations.Contains(tokens[p].Text);
            }

            quoted |= tokens[found].Quoted;
            position = found;
        }

        for (var p = Math.Max(0, start - 3); p < start; p++)
        {
            negated |= tokens[p].Sentence == sentence && negations.Contains(tokens[p].Text);
        }

        return true;
    }

    /// <summary>Whether the pattern matches anywhere in <paramref name="tokens"/>.</summary>
    public bool MatchesAnywhere(List<ModerationToken> tokens, FrozenSet<string> negations)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            if (TryMatch(tokens, i, negations, out _, out _))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>One element: the accepted normalised words and how many words may be skipped before it.</summary>
    private readonly record struct Step(FrozenSet<string> Words, int MaxGap);
}
