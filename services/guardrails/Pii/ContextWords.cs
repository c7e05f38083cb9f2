namespace Gateway.Aspire.Guardrails.Pii;

/// <summary>
/// A list of words or phrases looked for in a short window around a candidate ("routing" before a
/// nine-digit number, "version" before a dotted quad). Case-insensitive, whole words only, so that
/// "born" does not fire inside "stubborn".
/// </summary>
internal sealed class ContextWords(params string[] phrases)
{
    /// <summary>How far before a candidate its context words are looked for, in characters.</summary>
    public const int DefaultBefore = 40;

    /// <summary>How far after a candidate its context words are looked for; the stream window holds this much back too.</summary>
    public const int DefaultAfter = 24;

    /// <summary>Whether a phrase occurs in the <paramref name="before"/> characters before <paramref name="start"/> or the <paramref name="after"/> characters from <paramref name="end"/>.</summary>
    public bool Near(string text, int start, int end, int before = DefaultBefore, int after = DefaultAfter) =>
        Before(text, start, before) || After(text, end, after);

    /// <summary>Whether a phrase occurs in the <paramref name="before"/> characters before <paramref name="start"/>.</summary>
    public bool Before(string text, int start, int before = DefaultBefore)
    {
        var from = Math.Max(0, start - before);
        return Contains(text, from, start);
    }

    /// <summary>Whether a phrase occurs in the <paramref name="after"/> characters from <paramref name="end"/>.</summary>
    public bool After(string text, int end, int after = DefaultAfter) =>
        Contains(text, end, Math.Min(text.Length, end + after));

    /// <summary>Where the nearest phrase before <paramref name="start"/> ends (within <paramref name="before"/> characters), or -1.</summary>
    public int NearestBefore(string text, int start, int before = DefaultBefore)
    {
        var from = Math.Max(0, start - before);
        var nearest = -1;
        var window = text.AsSpan(from, start - from);
        foreach (var phrase in phrases)
        {
            var at = window.LastIndexOf(phrase, StringComparison.OrdinalIgnoreCase);
            while (at >= 0)
            {
                var s = from + at;
                if (!StartsInsideWord(text, s, phrase) && !EndsInsideWord(text, s + phrase.Length, phrase))
                {
                    nearest = Math.Max(nearest, s + phrase.Length);
                    break;
                }

                at = at == 0 ? -1 : window[..at].LastIndexOf(phrase, StringComparison.OrdinalIgnoreCase);
            }
        }

        return nearest;
    }

    private bool Contains(string text, int from, int to)
    {
        if (to <= from)
        {
            return false;
        }

        var window = text.AsSpan(from, to - from);
        foreach (var phrase in phrases)
        {
            var offset = 0;
            while (offset < window.Length)
            {
                var at = window[offset..].IndexOf(phrase, StringComparison.OrdinalIgnoreCase);
                if (at < 0)
                {
                    break;
                }

                var s = from + offset + at;
                var e = s + phrase.Length;
                if (!StartsInsideWord(text, s, phrase) && !EndsInsideWord(text, e, phrase))
                {
                    return true;
                }

                offset += at + 1;
            }
        }

        return false;
    }

    // A phrase that begins or ends with punctuation ("ss#", "a/c") is its own boundary on that side.
    private static bool StartsInsideWord(string text, int s, string phrase) =>
        char.IsLetterOrDigit(phrase[0]) && s > 0 && char.IsLetter(text[s - 1]);

    private static bool EndsInsideWord(string text, int e, string phrase) =>
        char.IsLetterOrDigit(phrase[^1]) && e < text.Length && char.IsLetter(text[e]);
}
