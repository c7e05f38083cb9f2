using System.Collections.Frozen;
using System.Text;

namespace Gateway.Aspire.Guardrails.Moderation;

/// <summary>
/// Splits text into <see cref="ModerationToken"/>s in one left-to-right pass, undoing the usual
/// obfuscations: leetspeak (k1ll, h@te), letter spacing (k i l l), repeated letters (kiiill).
/// </summary>
/// <remarks>
/// Hand-written rather than regular expressions so that the cost is provably linear in the input
/// (the guardrails service must stay fast on 1 MB adversarial bodies): every character is visited a
/// constant number of times, and the only search, the word split of a spaced-out run, is a dynamic
/// programme bounded by <see cref="MaxWordLength"/> per character.
/// </remarks>
internal static class ModerationTokenizer
{
    /// <summary>Longest word the spaced-run splitter looks up.</summary>
    private const int MaxWordLength = 24;

    /// <summary>A mention in quotes is at most this many words; a longer "quote" is ignored so that a stray quote mark cannot soften the rest of a text.</summary>
    private const int MaxQuotedWords = 6;

    /// <summary>Tokenises <paramref name="text"/>; <paramref name="vocabulary"/> (natural spelling) guides the split of spaced-out letters.</summary>
    public static List<ModerationToken> Tokenize(string text, FrozenSet<string> vocabulary, CancellationToken cancellationToken = default)
    {
        var raw = ScanWords(text, cancellationToken);
        var joined = JoinSpacedLetters(raw, vocabulary);
        var tokens = new List<ModerationToken>(joined.Count);
        foreach (var word in joined)
        {
            tokens.Add(new ModerationToken(ModerationPattern.Normalize(word.Text), word.Sentence, word.Quoted));
        }

        return tokens;
    }

    /// <summary>Collapses every run of one repeated character to a single character ("kiiill" → "kil").</summary>
    public static string Squeeze(string word)
    {
        var needed = false;
        for (var i = 1; i < word.Length && !needed; i++)
        {
            needed = word[i] == word[i - 1];
        }

        if (!needed)
        {
            return word;
        }

        var builder = new StringBuilder(word.Length);
        for (var i = 0; i < word.Length; i++)
        {
            if (i == 0 || word[i] != word[i - 1])
            {
                builder.Append(word[i]);
            }
        }

        return builder.ToString();
    }

    /// <summary>A word before squeezing. <c>Spaces</c>: the count of plain spaces before it, or -1 when anything else separated it from the previous word.</summary>
    private readonly record struct RawWord(string Text, int Sentence, bool Quoted, int Spaces);

    private static List<RawWord> ScanWords(string text, CancellationToken cancellationToken)
    {
        var words = new List<RawWord>();
        var builder = new StringBuilder();
        var sentence = 0;
        var spaces = -1;
        var hasLetter = false;
        int? quoteStart = null; // index in `words` where the open quotation began
        char quoteMark = '\0';

        void Flush()
        {
            if (builder.Length == 0)
            {
                return;
            }

            var word = hasLetter ? MapLeet(builder) : DigitsOnly(builder);
            if (word.Length > 0)
            {
                words.Add(new RawWord(word, sentence, false, spaces));
            }

            builder.Clear();
            hasLetter = false;
            spaces = 0;
        }

        void EndSentence()
        {
            Flush();
            sentence++;
            spaces = -1;
            quoteStart = null;
        }

        for (var i = 0; i < text.Length; i++)
        {
            if ((i & 0xFFFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var c = char.ToLowerInvariant(text[i]);
            var previous = i > 0 ? text[i - 1] : ' ';
            var next = i + 1 < text.Length ? text[i + 1] : ' ';

            if (char.IsLetter(c))
            {
                builder.Append(c);
                hasLetter = true;
            }
            else if (char.IsDigit(c) || IsLeetSymbol(c, previous, next))
            {
                builder.Append(c);
            }
            else if ((c is '\'' or '\u2019') && char.IsLetter(previous) && char.IsLetter(next))
            {
                // Contraction: "don't" → "don" "t", "I'll" → "i" "ll"; the parts stay adjacent (Spaces 0).
                Flush();
            }
            else if (c is '"' or '`' or '\u201C' or '\u201D' || (c is '\'' or '\u2018' or '\u2019' && (quoteStart is not null || char.IsLetter(next))))
            {
                Flush();
                spaces = -1;
                var mark = c is '\u201C' or '\u201D' ? '"' : c is '\u2018' or '\u2019' ? '\'' : c;
                if (quoteStart is { } start && mark == quoteMark)
                {
                    if (words.Count - start <= MaxQuotedWords)
                    {
                        for (var w = start; w < words.Count; w++)
                        {
                            words[w] = words[w] with { Quoted = true };
                        }
                    }

                    quoteStart = null;
                }
                else if (quoteStart is null)
                {
                    quoteStart = words.Count;
                    quoteMark = mark;
                }
            }
            else if (c is '.' or '!' or '?' or ';' or '\n' or '\r')
            {
                EndSentence();
            }
            else if (c == ' ')
            {
                Flush();
                if (spaces >= 0)
                {
                    spaces++;
                }
            }
            else
            {
                Flush();
                spaces = -1;
            }
        }

        Flush();
        return words;
    }

    /// <summary>@, $ and ! stand for letters only inside a word (h@te, a$$, k!ll), never as a mention, price or exclamation.</summary>
    private static bool IsLeetSymbol(char c, char previous, char next) => c switch
    {
        '@' or '!' => char.IsLetterOrDigit(previous) && char.IsLetter(next),
        '$' => char.IsLetter(previous),
        _ => false,
    };

    private static string MapLeet(StringBuilder builder)
    {
        for (var i = 0; i < builder.Length; i++)
        {
            builder[i] = builder[i] switch
            {
                '0' => 'o',
                '1' or '!' => 'i',
                '3' => 'e',
                '4' or '@' => 'a',
                '5' or '$' => 's',
                '7' => 't',
                '8' => 'b',
                var other => other,
            };
        }

        return builder.ToString();
    }

    private static string DigitsOnly(StringBuilder builder)
    {
        var digits = new StringBuilder(builder.Length);
        foreach (var chunk in builder.GetChunks())
        {
            foreach (var c in chunk.Span)
            {
                if (char.IsDigit(c))
                {
                    digits.Append(c);
                }
            }
        }

        return digits.ToString();
    }

    /// <summary>
    /// Joins runs of three or more single letters separated by one or two spaces ("k i l l  m e").
    /// Double spaces mark word ends when the writer kept them; otherwise the run is split into
    /// vocabulary words, or left as it was when no split exists (a list "a b c" stays three words).
    /// </summary>
    private static List<RawWord> JoinSpacedLetters(List<RawWord> words, FrozenSet<string> vocabulary)
    {
        var result = new List<RawWord>(words.Count);
        var i = 0;
        while (i < words.Count)
        {
            var end = i;
            while (end < words.Count && words[end].Text.Length == 1 && char.IsLetter(words[end].Text[0])
                && words[end].Sentence == words[i].Sentence
                && (end == i || words[end].Spaces is 1 or 2))
            {
                end++;
            }

            if (end - i < 3)
            {
                result.Add(words[i]);
                i++;
                continue;
            }

            var first = words[i];
            var letters = new StringBuilder(end - i);
            var hasWordBreaks = false;
            for (var w = i; w < end; w++)
            {
                hasWordBreaks |= w > i && words[w].Spaces == 2;
                letters.Append(words[w].Text);
            }

            if (hasWordBreaks)
            {
                var segment = new StringBuilder();
                for (var w = i; w < end; w++)
                {
                    if (w > i && words[w].Spaces == 2)
                    {
                        result.Add(first with { Text = segment.ToString() });
                        segment.Clear();
                    }

                    segment.Append(words[w].Text);
                }

                result.Add(first with { Text = segment.ToString() });
            }
            else if (SplitIntoWords(letters.ToString(), vocabulary) is { } split)
            {
                foreach (var word in split)
                {
                    result.Add(first with { Text = word });
                }
            }
            else
            {
                for (var w = i; w < end; w++)
                {
                    result.Add(words[w]);
                }
            }

            i = end;
        }

        return result;
    }

    /// <summary>Fewest-words split of <paramref name="letters"/> into vocabulary words, or null; O(length × <see cref="MaxWordLength"/>).</summary>
    private static List<string>? SplitIntoWords(string letters, FrozenSet<string> vocabulary)
    {
        // Span lookups: a 1 MB run of single letters must not allocate a substring per candidate.
        var lookup = vocabulary.GetAlternateLookup<ReadOnlySpan<char>>();
        var n = letters.Length;
        var best = new int[n + 1];
        var from = new int[n + 1];
        Array.Fill(best, int.MaxValue);
        best[0] = 0;
        for (var end = 1; end <= n; end++)
        {
            for (var length = 1; length <= Math.Min(MaxWordLength, end); length++)
            {
                var start = end - length;
                if (best[start] != int.MaxValue && best[start] + 1 < best[end] && lookup.Contains(letters.AsSpan(start, length)))
                {
                    best[end] = best[start] + 1;
                    from[end] = start;
                }
            }
        }

        if (best[n] == int.MaxValue)
        {
            return null;
        }

        var split = new List<string>(best[n]);
        for (var end = n; end > 0; end = from[end])
        {
            split.Add(letters[from[end]..end]);
        }

        split.Reverse();
        return split;
    }
}
